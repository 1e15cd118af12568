package dev.fairload.lb.servlet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fairload.lb.LoadBalancer;
import java.io.IOException;
import java.io.InputStream;
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

/** The proxy servlet in a real embedded Jetty 12 in front of three real backends, driven by a real client. */
class ProxyServletTest {
    private final List<TestBackend> backends = new ArrayList<>();
    private LoadBalancer lb;
    private ProxyRuntime runtime;
    private JettyProxy proxy;
    private final OkHttpClient client = new OkHttpClient.Builder()
            .retryOnConnectionFailure(false)
            .readTimeout(30, TimeUnit.SECONDS)
            .build();

    @BeforeEach
    void start() throws Exception {
        LoadBalancer.Builder b = LoadBalancer.builder().name("test");
        for (String name : List.of("a", "b", "c")) {
            TestBackend backend = new TestBackend(name);
            backends.add(backend);
            b.addServer(backend.asServer());
        }
        lb = b.build();
        runtime = ProxyRuntime.builder(lb)
                .config(ProxyConfig.builder().readTimeoutMillis(2_000).build())
                .closeBalancer(true)
                .build();
        proxy = new JettyProxy(runtime, "/*");
    }

    @AfterEach
    void stop() throws Exception {
        proxy.close();
        runtime.close();
        for (TestBackend backend : backends) {
            backend.close();
        }
        client.dispatcher().executorService().shutdown();
        client.connectionPool().evictAll();
    }

    private Response get(String path) throws IOException {
        return client.newCall(new Request.Builder().url(proxy.url(path)).build())
                .execute();
    }

    @Test
    void get_spreadsOverThreeBackends() throws IOException {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 30; i++) {
            try (Response r = get("/")) {
                assertThat(r.code()).isEqualTo(200);
                counts.merge(r.body().string(), 1, Integer::sum);
            }
        }
        assertThat(counts).containsOnly(Map.entry("a", 10), Map.entry("b", 10), Map.entry("c", 10));
        await().atMost(Duration.ofSeconds(5)).until(() -> lb.metrics().inFlight() == 0);
    }

    @Test
    void upload_streamsChunkedBody() throws IOException {
        long size = 64L * 1024 * 1024;
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
        try (Response r = client.newCall(new Request.Builder()
                        .url(proxy.url("/upload"))
                        .post(body)
                        .build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
            assertThat(r.body().string()).isEqualTo(Long.toString(size));
        }
    }

    @Test
    void download_streamsFixedAndChunked() throws IOException {
        for (String q : List.of("", "&chunked=1")) {
            long size = 64L * 1024 * 1024;
            try (Response r = get("/download?bytes=" + size + q)) {
                assertThat(r.code()).isEqualTo(200);
                long n = 0;
                BufferedSource source = r.body().source();
                byte[] buf = new byte[65536];
                int read;
                while ((read = source.read(buf)) != -1) {
                    n += read;
                }
                assertThat(n).isEqualTo(size);
            }
        }
    }

    @Test
    void noServers_answers503Json() throws IOException {
        for (TestBackend backend : backends) {
            lb.pool().remove(backend.name);
        }
        try (Response r = get("/")) {
            assertThat(r.code()).isEqualTo(503);
            assertThat(r.header("Content-Type")).startsWith("application/json");
            assertThat(r.body().string()).isEqualTo("{\"error\":\"No healthy servers available\"}");
        }
    }

    @Test
    void unreachableServers_answer502Json() throws Exception {
        for (TestBackend backend : backends) {
            backend.close();
        }
        try (Response r = get("/")) {
            assertThat(r.code()).isEqualTo(502);
            assertThat(r.body().string()).isEqualTo("{\"error\":\"Bad gateway\"}");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> lb.metrics().inFlight() == 0);
    }

    @Test
    void slowServer_answers504() throws IOException {
        runtime.update(runtime.config().toBuilder()
                .maxRetries(0)
                .readTimeoutMillis(300)
                .build());
        try (Response r = get("/slow?ms=1500")) {
            assertThat(r.code()).isEqualTo(504);
            assertThat(r.body().string()).contains("error");
        }
    }

    @Test
    void overRequestTimeout_answers504Json() throws IOException {
        // The whole-request deadline (OkHttp's call timeout) cancels the call: that is a timeout, not a client gone.
        runtime.update(runtime.config().toBuilder()
                .maxRetries(0)
                .responseHeadersTimeoutMillis(300)
                .requestTimeoutMillis(300)
                .build());
        try (Response r = get("/slow?ms=1500")) {
            assertThat(r.code()).isEqualTo(504);
            assertThat(r.body().string()).contains("\"error\"");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> lb.metrics().inFlight() == 0);
    }

    @Test
    void webSocketUpgrade_answers501() throws IOException {
        String response = RawHttp.exchange(
                proxy.port(),
                "GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                        + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
        assertThat(RawHttp.status(response)).isEqualTo(501);
        assertThat(backends).allMatch(b -> b.hits.get() == 0);
    }

    @Test
    void clientDisconnect_cancelsUpstreamAndReleasesServer() throws Exception {
        Response r = get("/download?bytes=" + (1L << 30));
        InputStream in = r.body().byteStream();
        in.readNBytes(1024 * 1024);
        await().atMost(Duration.ofSeconds(5)).until(() -> lb.metrics().inFlight() == 1);
        r.close(); // drops the connection mid-body
        await().atMost(Duration.ofSeconds(10)).until(() -> lb.metrics().inFlight() == 0);
        await().atMost(Duration.ofSeconds(10))
                .until(() -> backends.stream()
                                .mapToInt(b -> b.abortedDownloads.get())
                                .sum()
                        == 1);
    }

    /**
     * Clients that give up in the middle of their uploads are the clients' failures, not the server's: the upstream
     * calls end, nothing is counted against the servers, and none is ejected (else a few aborted uploads could take
     * every healthy server out).
     */
    @Test
    void clientAbortsUploads_neverCountedAgainstServers() throws Exception {
        for (int i = 0; i < 9; i++) {
            try (java.net.Socket socket = new java.net.Socket("127.0.0.1", proxy.port())) {
                java.io.OutputStream out = socket.getOutputStream();
                out.write(("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + "x".repeat(1000))
                        .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                out.flush();
                int upstreamBefore =
                        backends.stream().mapToInt(b -> b.hits.get()).sum();
                await().atMost(Duration.ofSeconds(10))
                        .until(() ->
                                backends.stream().mapToInt(b -> b.hits.get()).sum() > upstreamBefore);
                socket.setSoLinger(true, 0); // the client vanishes mid-body
            }
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> lb.metrics().inFlight() == 0);
        assertThat(lb.pool().list()).allSatisfy(v -> {
            assertThat(v.failures()).as("failures of %s", v.id()).isZero();
            assertThat(v.status()).isEqualTo(dev.fairload.lb.ServerStatus.HEALTHY);
        });
        try (Response r = get("/")) {
            assertThat(r.code()).isEqualTo(200);
        }
    }
}
