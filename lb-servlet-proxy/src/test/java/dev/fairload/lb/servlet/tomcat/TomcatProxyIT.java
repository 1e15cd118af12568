package dev.fairload.lb.servlet.tomcat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.servlet.ProxyConfig;
import dev.fairload.lb.servlet.ProxyRegistration;
import dev.fairload.lb.servlet.ProxyRuntime;
import dev.fairload.lb.servlet.RawHttp;
import dev.fairload.lb.servlet.TestBackend;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okio.BufferedSink;
import okio.BufferedSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy servlet in a real embedded Tomcat 11, registered through {@link ProxyRegistration#initializer} under the
 * prefix {@code /lb/*}, in front of three real backends. Runs in its own failsafe execution whose class path has
 * Tomcat's servlet API only.
 */
class TomcatProxyIT {
    private final List<TestBackend> backends = new ArrayList<>();
    private LoadBalancer lb;
    private ProxyRuntime runtime;
    private TomcatProxy tomcat;
    private int port;
    private final OkHttpClient client = new OkHttpClient.Builder()
            .retryOnConnectionFailure(false)
            .readTimeout(30, TimeUnit.SECONDS)
            .build();

    @TempDir
    Path base;

    @BeforeEach
    void start() throws Exception {
        LoadBalancer.Builder b = LoadBalancer.builder().name("tomcat");
        for (String name : List.of("a", "b", "c")) {
            TestBackend backend = new TestBackend(name);
            backends.add(backend);
            b.addServer(backend.asServer());
        }
        lb = b.build();
        runtime = ProxyRuntime.builder(lb)
                .config(ProxyConfig.builder()
                        .readTimeoutMillis(1000)
                        .maxRetries(2)
                        .sessionPersistence(true)
                        .build())
                .closeBalancer(true)
                .build();
        tomcat = TomcatProxy.start(base, "/lb/*", runtime);
        port = tomcat.port();
    }

    @AfterEach
    void stop() throws Exception {
        tomcat.close();
        runtime.close();
        for (TestBackend backend : backends) {
            backend.close();
        }
        client.dispatcher().executorService().shutdown();
        client.connectionPool().evictAll();
    }

    private String url(String path) {
        return "http://127.0.0.1:" + port + "/lb" + path;
    }

    private Response get(String path) throws IOException {
        return client.newCall(new Request.Builder().url(url(path)).build()).execute();
    }

    @Test
    void balancesAcrossThreeBackends_underPrefix() throws Exception {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 30; i++) {
            try (Response r = get("/x")) {
                assertThat(r.code()).isEqualTo(200);
                counts.merge(r.body().string(), 1, Integer::sum);
            }
        }
        assertThat(counts).containsOnly(Map.entry("a", 10), Map.entry("b", 10), Map.entry("c", 10));
        assertThat(backends.get(0).take().target()).isEqualTo("/x");
    }

    @Test
    void headerRules() throws Exception {
        String response = RawHttp.exchange(
                port,
                "GET /lb/h HTTP/1.1\r\nHost: shop.example\r\nConnection: X-Internal\r\nX-Internal: 1\r\n"
                        + "Keep-Alive: timeout=5\r\nX-Forwarded-For: 6.6.6.6\r\nProxy-Authorization: Basic eA==\r\n"
                        + "Via: 1.0 edge\r\n\r\n");
        assertThat(RawHttp.status(response)).isEqualTo(200);
        await().atMost(Duration.ofSeconds(5)).until(() -> backends.stream().anyMatch(b -> !b.seen.isEmpty()));
        TestBackend.Seen seen = backends.stream()
                .filter(b -> !b.seen.isEmpty())
                .findFirst()
                .orElseThrow()
                .take();
        assertThat(seen.header("Host")).isEqualTo("shop.example");
        assertThat(seen.header("X-Forwarded-For")).isEqualTo("127.0.0.1");
        assertThat(seen.header("X-Forwarded-Proto")).isEqualTo("http");
        assertThat(seen.header("X-Forwarded-Host")).isEqualTo("shop.example");
        assertThat(seen.header("X-Forwarded-Port")).isEqualTo("80");
        assertThat(seen.header("Via")).isEqualTo("1.0 edge, 1.1 fairload");
        assertThat(seen.headers()).doesNotContainKeys("x-internal", "keep-alive", "proxy-authorization");
    }

    @Test
    void streamsBothWays() throws Exception {
        long size = 128L * 1024 * 1024;
        RequestBody body = new RequestBody() {
            @Override
            public MediaType contentType() {
                return MediaType.get("application/octet-stream");
            }

            @Override
            public void writeTo(BufferedSink sink) throws IOException {
                byte[] chunk = new byte[64 * 1024];
                for (long left = size; left > 0; left -= chunk.length) {
                    sink.write(chunk);
                }
            }
        };
        try (Response r = client.newCall(
                        new Request.Builder().url(url("/upload")).post(body).build())
                .execute()) {
            assertThat(r.body().string()).isEqualTo(Long.toString(size));
        }
        try (Response r = get("/download?bytes=" + size + "&chunked=1")) {
            BufferedSource source = r.body().source();
            long total = 0;
            byte[] buf = new byte[65536];
            int n;
            while ((n = source.read(buf)) != -1) {
                total += n;
            }
            assertThat(total).isEqualTo(size);
        }
    }

    @Test
    void errors_502_503_504() throws Exception {
        try (Response r = get("/slow?ms=2500")) {
            assertThat(r.code()).isEqualTo(504);
        }
        for (TestBackend backend : backends) {
            backend.close();
        }
        try (Response r = get("/")) {
            assertThat(r.code()).isEqualTo(502);
            assertThat(r.body().string()).isEqualTo("{\"error\":\"Bad gateway\"}");
        }
        for (TestBackend backend : backends) {
            lb.pool().remove(backend.name);
        }
        try (Response r = get("/")) {
            assertThat(r.code()).isEqualTo(503);
            assertThat(r.body().string()).isEqualTo("{\"error\":\"No healthy servers available\"}");
        }
    }

    @Test
    void clientDisconnect_cancelsUpstream() throws Exception {
        Response r = get("/download?bytes=" + (1L << 30));
        r.body().byteStream().readNBytes(1 << 20);
        r.close();
        await().atMost(Duration.ofSeconds(20))
                .until(() -> backends.stream()
                                .mapToInt(b -> b.abortedDownloads.get())
                                .sum()
                        == 1);
        await().atMost(Duration.ofSeconds(10)).until(() -> lb.metrics().inFlight() == 0);
    }

    @Test
    void appCookieStickiness_andFailover() throws Exception {
        String owner;
        try (Response r = get("/login?id=t1")) {
            owner = r.body().string();
        }
        for (int i = 0; i < 5; i++) {
            try (Response r = client.newCall(new Request.Builder()
                            .url(url("/"))
                            .header("Cookie", "sessionId=t1")
                            .build())
                    .execute()) {
                assertThat(r.body().string()).isEqualTo(owner);
            }
        }
        long failovers = lb.metrics().failovers();
        backends.stream()
                .filter(b -> b.name.equals(owner))
                .findFirst()
                .orElseThrow()
                .close();
        try (Response r = client.newCall(new Request.Builder()
                        .url(url("/"))
                        .header("Cookie", "sessionId=t1")
                        .build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
            assertThat(r.body().string()).isNotEqualTo(owner);
        }
        assertThat(lb.metrics().failovers()).isGreaterThan(failovers);
    }

    /** On Tomcat too: clients giving up mid-upload are not counted against the servers. */
    @Test
    void clientAbortsUploads_neverCountedAgainstServers() throws Exception {
        for (int i = 0; i < 6; i++) {
            try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
                java.io.OutputStream out = socket.getOutputStream();
                out.write(("POST /lb/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + "x".repeat(1000))
                        .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                out.flush();
                int before = backends.stream().mapToInt(b -> b.hits.get()).sum();
                await().atMost(Duration.ofSeconds(10))
                        .until(() ->
                                backends.stream().mapToInt(b -> b.hits.get()).sum() > before);
                socket.setSoLinger(true, 0); // the client vanishes mid-body
            }
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> lb.metrics().inFlight() == 0);
        assertThat(lb.pool().list())
                .allSatisfy(v ->
                        assertThat(v.failures()).as("failures of %s", v.id()).isZero());
    }

    /** On Tomcat too: a chunked body found malformed after forwarding began gets 400, never reaching a backend whole. */
    @Test
    void malformedChunkMidBody_400_neverForwardedWhole() throws Exception {
        String response = RawHttp.exchange(
                port,
                "POST /lb/upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nmore\r\n0\r\n\r\n");
        assertThat(RawHttp.status(response)).as(response).isEqualTo(400);
        await().atMost(Duration.ofSeconds(10)).until(() -> lb.metrics().inFlight() == 0);
        List<TestBackend.Seen> seen = new ArrayList<>();
        backends.forEach(b -> b.seen.drainTo(seen));
        assertThat(seen).as("requests received whole").isEmpty();
    }
}
