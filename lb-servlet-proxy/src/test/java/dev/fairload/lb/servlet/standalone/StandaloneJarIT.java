package dev.fairload.lb.servlet.standalone;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fairload.lb.servlet.RawHttp;
import dev.fairload.lb.servlet.TestBackend;
import java.io.IOException;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okio.BufferedSink;
import okio.BufferedSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Through {@code java -Xmx256m -jar target/lb-proxy.jar} as a child process, in front of three real backends in
 * this JVM, with real clients on loopback.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class StandaloneJarIT {
    private static final long GIB = 1L << 30;

    private final List<TestBackend> backends = new ArrayList<>();
    private ProxyProcess proxy;
    private final OkHttpClient client = new OkHttpClient.Builder()
            .retryOnConnectionFailure(false)
            .readTimeout(60, TimeUnit.SECONDS)
            .writeTimeout(60, TimeUnit.SECONDS)
            .build();

    @TempDir
    Path temp;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        for (String name : List.of("a", "b", "c")) {
            backends.add(new TestBackend(name));
        }
        Path config = dir.resolve("proxy.yaml");
        Files.writeString(
                config,
                String.join(
                        "\n",
                        "host: 127.0.0.1",
                        "port: 0",
                        "adminPort: 0",
                        "algorithm: round_robin",
                        "maxRetries: 2",
                        "readTimeoutMillis: 1500",
                        "sessionPersistence: true",
                        "stickyCookie: true",
                        // Active checks (now applied by the admin side) would add /health requests to what the
                        // backends record; these tests look at proxied requests only.
                        "healthCheckEnabled: false",
                        "backends:",
                        "  - http://127.0.0.1:" + backends.get(0).port(),
                        "  - url: http://127.0.0.1:" + backends.get(1).port(),
                        "    weight: 1",
                        "  - http://127.0.0.1:" + backends.get(2).port(),
                        ""));
        proxy = ProxyProcess.started("--config", config.toString());
    }

    @AfterAll
    void stop() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        for (TestBackend b : backends) {
            b.close();
        }
        client.dispatcher().executorService().shutdown();
        client.connectionPool().evictAll();
    }

    private Response get(String path) throws IOException {
        return client.newCall(new Request.Builder().url(proxy.url(path)).build())
                .execute();
    }

    @Test
    void balancesAcrossThreeBackends() throws IOException {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 30; i++) {
            try (Response r = get("/")) {
                assertThat(r.code()).isEqualTo(200);
                counts.merge(r.body().string(), 1, Integer::sum);
            }
        }
        assertThat(counts).containsOnlyKeys("a", "b", "c");
        assertThat(counts.values()).allMatch(n -> n == 10);
    }

    @Test
    void forwardedHeadersAndHopByHop() throws Exception {
        backends.forEach(b -> b.seen.clear());
        String response = RawHttp.exchange(
                proxy.port,
                "GET /h HTTP/1.1\r\nHost: shop.example\r\nConnection: X-Internal\r\nX-Internal: 1\r\n"
                        + "X-Forwarded-For: 6.6.6.6\r\nProxy-Authorization: Basic eA==\r\n\r\n");
        assertThat(RawHttp.status(response)).isEqualTo(200);
        TestBackend.Seen seen = null;
        for (TestBackend b : backends) {
            TestBackend.Seen s = b.seen.poll(100, TimeUnit.MILLISECONDS);
            if (s != null) {
                seen = s;
            }
        }
        assertThat(seen).isNotNull();
        assertThat(seen.header("Host")).isEqualTo("shop.example");
        assertThat(seen.header("X-Forwarded-For")).isEqualTo("127.0.0.1");
        assertThat(seen.header("X-Forwarded-Host")).isEqualTo("shop.example");
        assertThat(seen.header("X-Forwarded-Proto")).isEqualTo("http");
        assertThat(seen.header("Via")).isEqualTo("1.1 fairload");
        assertThat(seen.headers()).doesNotContainKeys("x-internal", "proxy-authorization");
    }

    @Test
    void oneGibibyteUploadAndDownload_underSmallHeap() throws IOException {
        RequestBody upload = new RequestBody() {
            @Override
            public MediaType contentType() {
                return MediaType.get("application/octet-stream");
            }

            @Override
            public long contentLength() {
                return GIB;
            }

            @Override
            public void writeTo(BufferedSink sink) throws IOException {
                byte[] chunk = new byte[64 * 1024];
                for (long left = GIB; left > 0; left -= chunk.length) {
                    sink.write(chunk);
                }
            }
        };
        try (Response r = client.newCall(new Request.Builder()
                        .url(proxy.url("/upload"))
                        .post(upload)
                        .build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
            assertThat(r.body().string()).isEqualTo(Long.toString(GIB));
        }
        try (Response r = get("/download?bytes=" + GIB)) {
            assertThat(r.code()).isEqualTo(200);
            BufferedSource source = r.body().source();
            byte[] buf = new byte[64 * 1024];
            long total = 0;
            int n;
            while ((n = source.read(buf)) != -1) {
                total += n;
            }
            assertThat(total).isEqualTo(GIB);
        }
        assertThat(proxy.process.isAlive()).isTrue();
    }

    @Test
    void slowBackend_answers504() throws IOException {
        try (Response r = get("/slow?ms=4000")) {
            assertThat(r.code()).isEqualTo(504);
            assertThat(r.body().string()).contains("\"error\"");
        }
    }

    @Test
    void clientDisconnect_abortsUpstream() throws Exception {
        int before = backends.stream().mapToInt(b -> b.abortedDownloads.get()).sum();
        Response r = get("/download?bytes=" + GIB);
        r.body().byteStream().readNBytes(1 << 20);
        r.close();
        await().atMost(Duration.ofSeconds(20))
                .until(() -> backends.stream()
                                .mapToInt(b -> b.abortedDownloads.get())
                                .sum()
                        == before + 1);
    }

    @Test
    void stickyCookie_pinsAndFailsOver() throws Exception {
        String owner;
        String cookie;
        try (Response r = get("/")) {
            owner = r.body().string();
            cookie = r.header("Set-Cookie");
        }
        assertThat(cookie).startsWith("FAIRLOAD_STICKY=");
        String pair = cookie.substring(0, cookie.indexOf(';'));
        for (int i = 0; i < 5; i++) {
            try (Response r = client.newCall(new Request.Builder()
                            .url(proxy.url("/"))
                            .header("Cookie", pair)
                            .build())
                    .execute()) {
                assertThat(r.body().string()).isEqualTo(owner);
            }
        }
        // Failover is exercised on a separate proxy so the shared backends stay up for the other tests.
    }

    @Test
    void requestSmuggling_rejectedWith400_neverForwarded() throws Exception {
        int before = backends.stream().mapToInt(b -> b.hits.get()).sum();
        List<String> attacks = List.of(
                "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n",
                "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
                        + "0\r\n\r\n",
                "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
                "GET / HTTP/1.1\r\nHost: h\r\nX-Folded: a\r\n b\r\n\r\n",
                "GET / HTTP/1.1\nHost: h\nX-Bare: lf\n\n",
                "GET / HTTP/1.1\r\nHost: h\r\nX-Bare: lf\n\r\n");
        for (String attack : attacks) {
            String response = RawHttp.exchange(proxy.port, attack);
            assertThat(RawHttp.status(response)).as(attack).isEqualTo(400);
        }
        assertThat(backends.stream().mapToInt(b -> b.hits.get()).sum()).isEqualTo(before);
    }

    @Test
    void noServers_answers503() throws Exception {
        try (ProxyProcess empty = ProxyProcess.started("--host", "127.0.0.1", "--port", "0", "--admin-port", "0")) {
            try (Response r = client.newCall(
                            new Request.Builder().url(empty.url("/")).build())
                    .execute()) {
                assertThat(r.code()).isEqualTo(503);
                assertThat(r.body().string()).isEqualTo("{\"error\":\"No healthy servers available\"}");
            }
            assertThat(empty.lines()).anyMatch(line -> line.startsWith("fairload: no backends yet"));
        }
    }

    @Test
    void failoverAndBadGateway_whenBackendsGoAway() throws Exception {
        TestBackend x = new TestBackend("x");
        TestBackend y = new TestBackend("y");
        try (ProxyProcess p = ProxyProcess.started(
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--admin-port",
                "0",
                "--backend",
                "http://127.0.0.1:" + x.port(),
                "--backend",
                "http://127.0.0.1:" + y.port(),
                "--config",
                writeYaml("sessionPersistence: true\nstickyCookie: true\n"))) {
            String owner;
            String pair;
            try (Response r = client.newCall(
                            new Request.Builder().url(p.url("/")).build())
                    .execute()) {
                owner = r.body().string();
                String cookie = r.header("Set-Cookie");
                pair = cookie.substring(0, cookie.indexOf(';'));
            }
            (owner.equals("x") ? x : y).close();
            try (Response r = client.newCall(new Request.Builder()
                            .url(p.url("/"))
                            .header("Cookie", pair)
                            .build())
                    .execute()) {
                assertThat(r.code()).isEqualTo(200);
                assertThat(r.body().string()).isNotEqualTo(owner);
                // Re-issuing the cookie on failover is asserted in-process (ProxyHeadersAndProtocolTest).
            }
            (owner.equals("x") ? y : x).close();
            assertThat(p.lines()).noneMatch(l -> l.contains("Exception"));
            try (Response r = client.newCall(
                            new Request.Builder().url(p.url("/")).build())
                    .execute()) {
                assertThat(r.code()).isEqualTo(502);
                assertThat(r.body().string()).isEqualTo("{\"error\":\"Bad gateway\"}");
            }
        } finally {
            x.close();
            y.close();
        }
    }

    @Test
    void sigterm_drainsRequestsInFlight_thenExitsZero() throws Exception {
        TestBackend slow = new TestBackend("slow");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        java.net.Socket keptAlive = new java.net.Socket();
        String get = "GET /slow?ms=100 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        try (ProxyProcess p = ProxyProcess.started(
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--admin-port",
                "0",
                "--backend",
                "http://127.0.0.1:" + slow.port())) {
            List<Future<Integer>> inFlight = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                inFlight.add(pool.submit(() -> {
                    try (Response r = client.newCall(new Request.Builder()
                                    .url(p.url("/slow?ms=1500"))
                                    .build())
                            .execute()) {
                        r.body().string();
                        return r.code();
                    }
                }));
            }
            // Counted by path: the backend also gets the active health checks' /health requests.
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> slow.seen.stream()
                                    .filter(s -> s.target().startsWith("/slow"))
                                    .count()
                            == 4);
            // A kept-alive connection, idle when the signal arrives.
            keptAlive.setSoTimeout(10_000);
            keptAlive.connect(new java.net.InetSocketAddress("127.0.0.1", p.port), 5_000);
            keptAlive.getOutputStream().write(get.getBytes(StandardCharsets.ISO_8859_1));
            String first = RawHttp.readResponse(keptAlive.getInputStream());
            assertThat(RawHttp.status(first)).isEqualTo(200);
            assertThat(first.toLowerCase(java.util.Locale.ROOT)).doesNotContain("connection: close");
            p.process.destroy(); // SIGTERM
            await().atMost(Duration.ofSeconds(10))
                    .pollInterval(Duration.ofMillis(10))
                    .until(() -> String.join("\n", p.lines()).contains("stopping"));
            // While draining, a request on that connection is still served, and its response closes the connection.
            keptAlive.getOutputStream().write(get.getBytes(StandardCharsets.ISO_8859_1));
            String last = RawHttp.readResponse(keptAlive.getInputStream());
            assertThat(RawHttp.status(last)).as(last).isEqualTo(200);
            assertThat(last.toLowerCase(java.util.Locale.ROOT)).contains("\r\nconnection: close\r\n");
            assertThat(keptAlive.getInputStream().read())
                    .as("closed after the response")
                    .isEqualTo(-1);
            assertThatThrownBy(() -> new java.net.Socket("127.0.0.1", p.port).close())
                    .isInstanceOf(ConnectException.class);
            for (Future<Integer> f : inFlight) {
                assertThat(f.get(30, TimeUnit.SECONDS)).isEqualTo(200);
            }
            assertThat(p.awaitExit()).isZero();
        } finally {
            keptAlive.close();
            pool.shutdownNow();
            slow.close();
        }
    }

    @Test
    void badOptionsAndBusyPort_exitTwoWithMessage() throws Exception {
        try (ProxyProcess p = ProxyProcess.start("--algorithm", "fastest")) {
            assertThat(p.awaitExit()).isEqualTo(2);
            assertThat(String.join("\n", p.lines()))
                    .contains("algorithm: 'fastest'")
                    .contains("round_robin");
        }
        try (ServerSocket busy = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
                ProxyProcess p = ProxyProcess.start(
                        "--host", "127.0.0.1", "--port", Integer.toString(busy.getLocalPort()), "--admin-port", "0")) {
            assertThat(p.awaitExit()).isEqualTo(2);
            assertThat(String.join("\n", p.lines())).contains("--port: cannot listen on");
        }
        try (ServerSocket busy = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
                ProxyProcess p = ProxyProcess.start(
                        "--demo", "--host", "127.0.0.1", "--port", Integer.toString(busy.getLocalPort()))) {
            assertThat(p.awaitExit()).isEqualTo(2);
            assertThat(p.lines())
                    .as("the busy port is reported before the demo backends or the balancer start")
                    .anyMatch(line -> line.contains("--port: cannot listen on"))
                    .noneMatch(line -> line.contains("started with"));
        }
        try (ProxyProcess p = ProxyProcess.start("--config", writeYaml("port: [\n"))) {
            assertThat(p.awaitExit()).isEqualTo(2);
            assertThat(p.lines())
                    .as("one line and the hint, not a parser dump")
                    .hasSize(2)
                    .first(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                    .matches("fairload: --config: .*: not valid YAML at line 1, column \\d+: .*");
        }
        for (String option : new String[] {"--tls-port", "--tls-key"}) {
            try (ProxyProcess p = ProxyProcess.start(option, option.equals("--tls-port") ? "9443" : "key.pem")) {
                assertThat(p.awaitExit()).isEqualTo(2);
                assertThat(p.lines())
                        .first()
                        .isEqualTo("fairload: " + option + ": TLS termination is off (expected:"
                                + " --tls-cert too, or sslTermination: true in --config)");
            }
        }
    }

    private String writeYaml(String yaml) throws IOException {
        Path file = Files.createTempFile(temp, "proxy", ".yaml");
        Files.writeString(file, yaml);
        return file.toString();
    }
}
