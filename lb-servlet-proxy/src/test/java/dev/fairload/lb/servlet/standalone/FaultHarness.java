package dev.fairload.lb.servlet.standalone;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import okhttp3.ConnectionPool;
import okhttp3.Dispatcher;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/**
 * Three {@link FaultBackend}s behind the standalone jar started as a child process with short health intervals and
 * timeouts, a client pool for {@link Traffic}, and the admin API calls the fault tests need. Stops everything it
 * started in {@link #close()}.
 */
final class FaultHarness implements AutoCloseable {
    static final MediaType JSON_TYPE = MediaType.get("application/json");
    private static final Pattern IN_FLIGHT = Pattern.compile("(?m)^fairload_proxy_requests_in_flight\\S* (\\S+)$");

    private static final int WARM_UP_REQUESTS = 3000;

    final List<FaultBackend> backends = new ArrayList<>();
    final Path dir;
    final Path configFile;
    final Path stateFile;
    /** The proxy's port: chosen by the proxy at its first start, then kept for restarts. */
    volatile int port;

    ProxyProcess proxy;

    final OkHttpClient client;
    final OkHttpClient admin = new OkHttpClient.Builder()
            .readTimeout(10, TimeUnit.SECONDS)
            .callTimeout(15, TimeUnit.SECONDS)
            .build();

    FaultHarness(Path dir, String... extraConfig) throws Exception {
        this.dir = dir;
        for (String name : List.of("a", "b", "c")) {
            backends.add(new FaultBackend(name));
        }
        Dispatcher dispatcher = new Dispatcher();
        dispatcher.setMaxRequests(1024);
        dispatcher.setMaxRequestsPerHost(1024);
        client = new OkHttpClient.Builder()
                .dispatcher(dispatcher)
                .connectionPool(new ConnectionPool(64, 30, TimeUnit.SECONDS))
                .retryOnConnectionFailure(false)
                .connectTimeout(5, TimeUnit.SECONDS)
                .readTimeout(15, TimeUnit.SECONDS)
                .callTimeout(20, TimeUnit.SECONDS)
                .build();
        configFile = dir.resolve("proxy.yaml");
        stateFile = dir.resolve("state.json");
        List<String> lines = new ArrayList<>(List.of(
                "host: 127.0.0.1",
                // The proxy binds a free port itself (no gap between choosing a port and binding it);
                // startProxy() then pins that port so that a restart (faults 8 and 9) comes back on it.
                "port: 0",
                "adminPort: 0",
                "algorithm: round_robin",
                "maxRetries: 2",
                "healthCheckInterval: 2",
                "healthCheckTimeout: 1",
                "connectTimeoutMillis: 1000",
                "readTimeoutMillis: 3000",
                "responseHeadersTimeoutMillis: 1000",
                "requestTimeoutMillis: 8000",
                // The default (256): a restarted, cold proxy JVM (fault 8) briefly holds a few hundred requests.
                "maxRequestsPerServer: 256",
                // The fault backends' 500 means a broken instance: retried elsewhere like 502-504.
                "retryOnStatus: [500, 502, 503, 504]",
                "drainTimeout: 10"));
        lines.addAll(List.of(extraConfig));
        lines.add("backends:");
        for (FaultBackend b : backends) {
            lines.add("  - url: " + b.url());
            lines.add("    id: " + b.name);
        }
        Files.writeString(configFile, String.join("\n", lines) + "\n");
        startProxy();
        warmUp();
    }

    /**
     * Sends {@value #WARM_UP_REQUESTS} GETs, at most 32 at a time, and expects every one to succeed. A cold proxy JVM
     * is slow for its first second or two (JIT compilation on a shared 2-core machine); at 500 requests per second
     * that makes up to hundreds of requests in flight at once, and the proxy rightly refuses those beyond its limit
     * of 3 x {@code maxRequestsPerServer} with 503. The faults are measured on a warm proxy; a cold start is not one
     * of them (fault 8 measures its own restart).
     */
    void warmUp() throws InterruptedException {
        java.util.concurrent.Semaphore permits = new java.util.concurrent.Semaphore(32);
        java.util.concurrent.ConcurrentLinkedQueue<String> failures =
                new java.util.concurrent.ConcurrentLinkedQueue<>();
        for (int i = 0; i < WARM_UP_REQUESTS; i++) {
            if (!permits.tryAcquire(20, TimeUnit.SECONDS)) {
                throw new AssertionError("warm-up stalled");
            }
            client.newCall(new Request.Builder().url(base() + "/warm-up/" + i).build())
                    .enqueue(new okhttp3.Callback() {
                        @Override
                        public void onResponse(okhttp3.Call call, Response response) {
                            try (response) {
                                if (response.code() != 200) {
                                    failures.add(response.code() + " "
                                            + call.request().url());
                                }
                            } finally {
                                permits.release();
                            }
                        }

                        @Override
                        public void onFailure(okhttp3.Call call, IOException e) {
                            failures.add(e + " " + call.request().url());
                            permits.release();
                        }
                    });
        }
        if (!permits.tryAcquire(32, 20, TimeUnit.SECONDS)) {
            throw new AssertionError("warm-up did not finish");
        }
        permits.release(32);
        assertThat(failures).as("warm-up requests failed").isEmpty();
    }

    void startProxy() throws Exception {
        proxy = ProxyProcess.started("--config", configFile.toString(), "--state", stateFile.toString());
        if (port == 0) {
            port = proxy.port;
            String config = Files.readString(configFile);
            Files.writeString(configFile, config.replace("\nport: 0\n", "\nport: " + port + "\n"));
        } else {
            assertThat(proxy.port).as("restarted proxy's port").isEqualTo(port);
        }
    }

    FaultBackend backend(String name) {
        return backends.stream().filter(b -> b.name.equals(name)).findFirst().orElseThrow();
    }

    String base() {
        return "http://127.0.0.1:" + port;
    }

    Traffic traffic(int rate, int seconds) {
        return Traffic.start(client, n -> base(), rate, rate * seconds);
    }

    // Admin API ----------------------------------------------------------------------------------------------

    String adminUrl(String path) {
        return "http://127.0.0.1:" + proxy.adminPort + path;
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> call(String method, String path, String json) throws IOException {
        Request.Builder r = new Request.Builder().url(adminUrl(path));
        r.method(method, json == null ? null : RequestBody.create(json, JSON_TYPE));
        try (Response response = admin.newCall(r.build()).execute()) {
            String body = response.body().string();
            Map<String, Object> map = JSON.std.mapFrom(body);
            if (response.code() >= 300) {
                throw new AssertionError(method + " " + path + " -> " + response.code() + " " + body);
            }
            return map;
        }
    }

    @SuppressWarnings("unchecked")
    List<Map<String, Object>> servers() throws IOException {
        return (List<Map<String, Object>>) call("GET", "/api/servers", null).get("data");
    }

    /** The server's status in the admin API, or "absent". */
    String status(String serverId) throws IOException {
        return servers().stream()
                .filter(s -> serverId.equals(s.get("serverId")))
                .map(s -> String.valueOf(s.get("status")))
                .findFirst()
                .orElse("absent");
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> metrics() throws IOException {
        return (Map<String, Object>) call("GET", "/api/metrics", null).get("data");
    }

    @SuppressWarnings("unchecked")
    List<Map<String, Object>> serverMetrics() throws IOException {
        return (List<Map<String, Object>>)
                call("GET", "/api/metrics/servers", null).get("data");
    }

    /** The proxy's own in-flight count, from the Prometheus page of the admin listener. */
    double proxyInFlight() throws IOException {
        try (Response response = admin.newCall(
                        new Request.Builder().url(adminUrl("/metrics")).build())
                .execute()) {
            Matcher m = IN_FLIGHT.matcher(response.body().string());
            if (!m.find()) {
                throw new AssertionError("no fairload_proxy_requests_in_flight on /metrics");
            }
            return Double.parseDouble(m.group(1));
        }
    }

    /** Waits until the status of {@code serverId} is {@code status}; returns how long it took from {@code since}. */
    Duration awaitStatus(String serverId, String status, long sinceNanos, Duration atMost) {
        await().atMost(atMost)
                .pollInterval(Duration.ofMillis(50))
                .ignoreExceptions()
                .until(() -> status.equals(status(serverId)));
        return Duration.ofNanos(System.nanoTime() - sinceNanos);
    }

    /** Every lease and in-flight count back to 0: balancer total, each server, and the proxy's admission count. */
    void assertNothingInFlight() {
        await().atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(100))
                .ignoreExceptions()
                .untilAsserted(() -> {
                    assertThat(((Number) metrics().get("activeConnections")).intValue())
                            .as("balancer in-flight")
                            .isZero();
                    for (Map<String, Object> s : serverMetrics()) {
                        assertThat(((Number) s.get("activeConnections")).intValue())
                                .as("in-flight of " + s.get("serverId"))
                                .isZero();
                    }
                    assertThat(proxyInFlight()).as("proxy in-flight").isZero();
                });
    }

    // Results ------------------------------------------------------------------------------------------------

    /** Counts of one traffic run. */
    record Tally(int total, int gets, int posts, List<Traffic.Outcome> getErrors, List<Traffic.Outcome> postErrors) {
        static Tally of(List<Traffic.Outcome> outcomes) {
            List<Traffic.Outcome> getErrors = new ArrayList<>();
            List<Traffic.Outcome> postErrors = new ArrayList<>();
            int gets = 0;
            int posts = 0;
            for (Traffic.Outcome o : outcomes) {
                boolean get = o.method().equals("GET");
                if (get) {
                    gets++;
                } else {
                    posts++;
                }
                if (!o.ok()) {
                    (get ? getErrors : postErrors).add(o);
                }
            }
            return new Tally(outcomes.size(), gets, posts, getErrors, postErrors);
        }

        String sample() {
            List<String> s = new ArrayList<>();
            for (Traffic.Outcome o : getErrors.subList(0, Math.min(3, getErrors.size()))) {
                s.add(o.method() + " " + (o.status() != 0 ? o.status() + " " + o.error() : o.error()));
            }
            for (Traffic.Outcome o : postErrors.subList(0, Math.min(3, postErrors.size()))) {
                s.add(o.method() + " " + (o.status() != 0 ? o.status() + " " + o.error() : o.error()));
            }
            return s.toString();
        }
    }

    /** Prints and appends to {@code target/fault-summary.txt} one line for the fault. */
    static void summary(String fault, Tally t, Duration eject, Duration readmit, String extra) {
        String line = String.format(
                Locale.ROOT,
                "FAULT %-22s requests=%d (GET %d, POST %d) getErrors=%d postErrors=%d eject=%s readmit=%s%s",
                fault,
                t.total(),
                t.gets(),
                t.posts(),
                t.getErrors().size(),
                t.postErrors().size(),
                seconds(eject),
                seconds(readmit),
                extra == null || extra.isEmpty() ? "" : " " + extra);
        System.out.println(line);
        try {
            Files.writeString(
                    Path.of("target", "fault-summary.txt"),
                    line + "\n",
                    StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            System.out.println("(summary file not written: " + e + ")");
        }
    }

    static String seconds(Duration d) {
        return d == null ? "-" : String.format(Locale.ROOT, "%.2fs", d.toNanos() / 1e9);
    }

    @Override
    public void close() throws Exception {
        try {
            if (proxy != null) {
                proxy.close();
            }
        } finally {
            for (FaultBackend b : backends) {
                b.close();
            }
            client.dispatcher().executorService().shutdownNow();
            client.connectionPool().evictAll();
            admin.dispatcher().executorService().shutdownNow();
            admin.connectionPool().evictAll();
        }
    }
}
