package dev.fairload.lb.servlet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fairload.lb.LoadBalancer;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okio.BufferedSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Header rules, HTTP/1.1 corner cases, prefix mapping and stickiness, through embedded Jetty. */
class ProxyHeadersAndProtocolTest {
    private TestBackend a;
    private TestBackend b;
    private LoadBalancer lb;
    private ProxyRuntime runtime;
    private JettyProxy proxy;
    private final OkHttpClient client = new OkHttpClient.Builder()
            .retryOnConnectionFailure(false)
            .readTimeout(30, TimeUnit.SECONDS)
            .build();

    private void start(ProxyConfig config, String mapping) throws Exception {
        a = new TestBackend("a");
        b = new TestBackend("b");
        lb = LoadBalancer.builder()
                .name("headers")
                .addServer(a.asServer())
                .addServer(b.asServer())
                .build();
        runtime = ProxyRuntime.builder(lb).config(config).closeBalancer(true).build();
        proxy = new JettyProxy(runtime, mapping);
    }

    @AfterEach
    void stop() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        if (runtime != null) {
            runtime.close();
        }
        for (TestBackend backend : new TestBackend[] {a, b}) {
            if (backend != null) {
                backend.close();
            }
        }
        client.dispatcher().executorService().shutdown();
        client.connectionPool().evictAll();
    }

    private TestBackend.Seen onlySeen() throws InterruptedException {
        await().atMost(Duration.ofSeconds(10)).until(() -> a.seen.size() + b.seen.size() == 1);
        return a.seen.isEmpty() ? b.take() : a.take();
    }

    @Test
    void request_hopByHopStripped_forwardedHeadersSet() throws Exception {
        start(ProxyConfig.defaults(), "/*");
        String response = RawHttp.exchange(
                proxy.port(),
                "GET /x?y=1 HTTP/1.1\r\nHost: shop.example:8080\r\n"
                        + "Connection: keep-alive, X-Internal, Upgrade, HTTP2-Settings\r\nX-Internal: secret\r\nKeep-Alive: timeout=5\r\n"
                        + "TE: trailers, deflate\r\nTrailer: X-T\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\n"
                        + "Proxy-Connection: keep-alive\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"
                        + "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\n"
                        + "Forwarded: for=6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\nVia: 1.0 edge\r\nX-Custom: kept\r\n\r\n");
        assertThat(RawHttp.status(response)).as(response).isEqualTo(200);
        TestBackend.Seen seen = onlySeen();
        assertThat(seen.target()).isEqualTo("/x?y=1");
        for (String gone : List.of(
                "x-internal",
                "keep-alive",
                "trailer",
                "proxy-authorization",
                "proxy-connection",
                "upgrade",
                "http2-settings",
                "forwarded",
                "x-real-ip")) {
            assertThat(seen.headers()).as(gone).doesNotContainKey(gone);
        }
        assertThat(seen.header("TE")).isEqualTo("trailers");
        assertThat(seen.header("Host")).isEqualTo("shop.example:8080");
        assertThat(seen.header("X-Forwarded-For")).isEqualTo("127.0.0.1");
        assertThat(seen.header("X-Forwarded-Proto")).isEqualTo("http");
        assertThat(seen.header("X-Forwarded-Host")).isEqualTo("shop.example:8080");
        assertThat(seen.header("X-Forwarded-Port")).isEqualTo("8080");
        assertThat(seen.header("Via")).isEqualTo("1.0 edge, 1.1 fairload");
        assertThat(seen.header("X-Custom")).isEqualTo("kept");
        assertThat(seen.headers()).as("a User-Agent the client did not send").doesNotContainKey("user-agent");
        assertThat(seen.headers())
                .as("an Accept-Encoding the client did not send")
                .doesNotContainKey("accept-encoding");
    }

    /** The proxy never changes an encoding: a compressed answer reaches the client compressed, whatever it accepts. */
    @Test
    void contentEncoding_passedThroughUndecoded() throws Exception {
        start(ProxyConfig.defaults(), "/*");
        for (String accept : new String[] {null, "gzip", "br;q=1.0, gzip;q=0.8"}) {
            String response = RawHttp.exchange(
                    proxy.port(),
                    "GET /gzip HTTP/1.1\r\nHost: h\r\n"
                            + (accept == null ? "" : "Accept-Encoding: " + accept + "\r\n")
                            + "Connection: close\r\n\r\n");
            assertThat(RawHttp.status(response)).as(response).isEqualTo(200);
            assertThat(response).containsIgnoringCase("\r\nContent-Encoding: gzip\r\n");
            byte[] packed = response.substring(response.indexOf("\r\n\r\n") + 4)
                    .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
            try (java.util.zip.GZIPInputStream in =
                    new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(packed))) {
                assertThat(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8))
                        .isIn("a", "b");
            }
            TestBackend.Seen seen = onlySeen();
            if (accept == null) {
                assertThat(seen.headers()).doesNotContainKey("accept-encoding");
            } else {
                assertThat(seen.headers().get("accept-encoding")).containsExactly(accept);
            }
        }
    }

    @Test
    void request_userAgentPassedVerbatim() throws Exception {
        start(ProxyConfig.defaults(), "/*");
        String response = RawHttp.exchange(
                proxy.port(), "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: curl/8.5.0\r\nConnection: close\r\n\r\n");
        assertThat(RawHttp.status(response)).as(response).isEqualTo(200);
        assertThat(onlySeen().headers().get("user-agent")).containsExactly("curl/8.5.0");
    }

    @Test
    void request_fromTrustedProxy_appendsForwardedFor() throws Exception {
        start(ProxyConfig.builder().trustedProxies(List.of("127.0.0.0/8")).build(), "/*");
        RawHttp.exchange(
                proxy.port(),
                "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 203.0.113.9, 10.1.1.1\r\n"
                        + "X-Forwarded-Proto: https\r\nX-Forwarded-Host: public.example\r\nX-Forwarded-Port: 443\r\n"
                        + "Forwarded: for=203.0.113.9\r\n\r\n");
        TestBackend.Seen seen = onlySeen();
        assertThat(seen.header("X-Forwarded-For")).isEqualTo("203.0.113.9, 10.1.1.1, 127.0.0.1");
        assertThat(seen.header("X-Forwarded-Proto")).isEqualTo("https");
        assertThat(seen.header("X-Forwarded-Host")).isEqualTo("public.example");
        assertThat(seen.header("X-Forwarded-Port")).isEqualTo("443");
        assertThat(seen.header("Forwarded")).isEqualTo("for=203.0.113.9");
    }

    @Test
    void request_hostReplacedWhenNotPreserved() throws Exception {
        start(ProxyConfig.builder().preserveHost(false).build(), "/*");
        RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n");
        TestBackend.Seen seen = onlySeen();
        int port = seen.header("Host").endsWith(":" + a.port()) ? a.port() : b.port();
        assertThat(seen.header("Host")).isEqualTo("127.0.0.1:" + port);
        assertThat(seen.header("X-Forwarded-Host")).isEqualTo("shop.example");
    }

    @Test
    void response_hopByHopStripped() throws Exception {
        start(ProxyConfig.defaults(), "/*");
        try (Response r = client.newCall(
                        new Request.Builder().url(proxy.url("/hop")).build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
            assertThat(r.header("X-Kept")).isEqualTo("yes");
            assertThat(r.header("X-Secret")).isNull();
            assertThat(r.header("Keep-Alive")).isNull();
            assertThat(r.header("Proxy-Authenticate")).isNull();
            assertThat(r.header("Via")).isEqualTo("1.1 fairload");
        }
    }

    @Test
    void prefixMapping_removedFromForwardedPath() throws Exception {
        start(ProxyConfig.defaults(), "/lb/*");
        try (Response r = client.newCall(
                        new Request.Builder().url(proxy.url("/lb/p/q?z=%2F")).build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
        }
        assertThat(onlySeen().target()).isEqualTo("/p/q?z=%2F");
    }

    @Test
    void head204And304_haveNoBody() throws Exception {
        start(ProxyConfig.defaults(), "/*");
        String head = RawHttp.exchange(proxy.port(), "HEAD /download?bytes=1000 HTTP/1.1\r\nHost: h\r\n\r\n");
        assertThat(RawHttp.status(head)).isEqualTo(200);
        assertThat(head).containsIgnoringCase("Content-Length: 1000").endsWith("\r\n\r\n");
        for (int code : new int[] {204, 304}) {
            String r = RawHttp.exchange(proxy.port(), "GET /status?code=" + code + " HTTP/1.1\r\nHost: h\r\n\r\n");
            assertThat(RawHttp.status(r)).isEqualTo(code);
            assertThat(r).endsWith("\r\n\r\n");
        }
    }

    @Test
    void expectContinue_bodySentAfter100() throws Exception {
        start(ProxyConfig.defaults(), "/*");
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", proxy.port())) {
            socket.setSoTimeout(10_000);
            var out = socket.getOutputStream();
            var in = socket.getInputStream();
            out.write(("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
                    .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            out.flush();
            byte[] buf = new byte[25];
            int n = in.readNBytes(buf, 0, "HTTP/1.1 100 Continue\r\n\r\n".length());
            assertThat(new String(buf, 0, n, java.nio.charset.StandardCharsets.ISO_8859_1))
                    .startsWith("HTTP/1.1 100");
            out.write("hello".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            out.flush();
            String rest = RawHttp.readResponse(in);
            assertThat(rest).contains("200").endsWith("\r\n\r\n5");
        }
    }

    @Test
    void chunkedUpload_andTrailers_passThrough() throws Exception {
        start(ProxyConfig.defaults(), "/*");
        String upload = RawHttp.exchange(
                proxy.port(),
                "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
        assertThat(RawHttp.status(upload)).isEqualTo(200);
        assertThat(upload).endsWith("11");
        String trailers = RawHttp.exchange(proxy.port(), "GET /trailers HTTP/1.1\r\nHost: h\r\nTE: trailers\r\n\r\n");
        assertThat(trailers).containsIgnoringCase("Transfer-Encoding: chunked");
        assertThat(trailers).contains("part1-").contains("part2").contains("X-Checksum: abc123");
    }

    @Test
    void serverSentEvents_streamUnbuffered() throws Exception {
        start(ProxyConfig.defaults(), "/*");
        try (Response r = client.newCall(
                        new Request.Builder().url(proxy.url("/sse")).build())
                .execute()) {
            BufferedSource source = r.body().source();
            assertThat(source.readUtf8Line()).isEqualTo("data: one"); // arrives before the second is produced
            a.releaseSecondEvent();
            b.releaseSecondEvent();
            assertThat(source.readUtf8Line()).isEmpty();
            assertThat(source.readUtf8Line()).isEqualTo("data: two");
        }
    }

    @Test
    void appCookie_bindsAndFailsOver() throws Exception {
        start(ProxyConfig.builder().sessionPersistence(true).build(), "/*");
        String owner;
        try (Response r = client.newCall(
                        new Request.Builder().url(proxy.url("/login?id=s1")).build())
                .execute()) {
            owner = r.body().string();
        }
        for (int i = 0; i < 6; i++) {
            try (Response r = client.newCall(new Request.Builder()
                            .url(proxy.url("/"))
                            .header("Cookie", "sessionId=s1")
                            .build())
                    .execute()) {
                assertThat(r.body().string()).isEqualTo(owner);
            }
        }
        long failoversBefore = lb.metrics().failovers();
        TestBackend down = owner.equals("a") ? a : b;
        down.close();
        try (Response r = client.newCall(new Request.Builder()
                        .url(proxy.url("/"))
                        .header("Cookie", "sessionId=s1")
                        .build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
            assertThat(r.body().string()).isNotEqualTo(owner);
        }
        assertThat(lb.metrics().failovers()).isGreaterThan(failoversBefore);
    }

    @Test
    void proxyCookie_pinsServerWithoutTable() throws Exception {
        start(ProxyConfig.builder().sessionPersistence(true).stickyCookie(true).build(), "/*");
        String cookie;
        String owner;
        try (Response r = client.newCall(
                        new Request.Builder().url(proxy.url("/")).build())
                .execute()) {
            owner = r.body().string();
            cookie = r.header("Set-Cookie");
        }
        assertThat(cookie).startsWith("FAIRLOAD_STICKY=").contains("HttpOnly").contains("SameSite=Lax");
        String value = cookie.substring(0, cookie.indexOf(';'));
        assertThat(value).doesNotContain("127.0.0.1");
        for (int i = 0; i < 6; i++) {
            try (Response r = client.newCall(new Request.Builder()
                            .url(proxy.url("/"))
                            .header("Cookie", value)
                            .build())
                    .execute()) {
                assertThat(r.body().string()).isEqualTo(owner);
                assertThat(r.header("Set-Cookie")).isNull(); // already pinned there
            }
        }
        try (Response r = client.newCall(new Request.Builder()
                        .url(proxy.url("/"))
                        .header("Cookie", "FAIRLOAD_STICKY=zz-tampered")
                        .build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
            assertThat(r.header("Set-Cookie")).startsWith("FAIRLOAD_STICKY=");
        }
        (owner.equals("a") ? a : b).close();
        try (Response r = client.newCall(new Request.Builder()
                        .url(proxy.url("/"))
                        .header("Cookie", value)
                        .build())
                .execute()) {
            assertThat(r.body().string()).isNotEqualTo(owner);
            assertThat(r.header("Set-Cookie")).as(r.headers().toString()).startsWith("FAIRLOAD_STICKY=");
        }
    }

    @Test
    void configUpdate_appliesLive() throws Exception {
        start(ProxyConfig.defaults(), "/*");
        List<ProxyConfig> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        runtime.addConfigListener((previous, current) -> seen.add(current));
        ProxyConfig next = runtime.update(java.util.Map.of("algorithm", "least_connections", "maxRetries", 1));
        assertThat(lb.strategy().name()).isEqualTo("least_connections");
        assertThat(runtime.config()).isEqualTo(next);
        assertThat(seen).containsExactly(next);
        try (Response r = client.newCall(
                        new Request.Builder().url(proxy.url("/")).build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
        }
    }

    @Test
    void exchangeListener_seesEachRequest() throws Exception {
        start(ProxyConfig.defaults(), "/*");
        List<ProxyRuntime.Exchange> exchanges = new java.util.concurrent.CopyOnWriteArrayList<>();
        runtime.addExchangeListener(exchanges::add);
        try (Response r = client.newCall(
                        new Request.Builder().url(proxy.url("/p?secret=1")).build())
                .execute()) {
            r.body().string();
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> exchanges.size() == 1);
        ProxyRuntime.Exchange e = exchanges.get(0);
        assertThat(e.method()).isEqualTo("GET");
        assertThat(e.path()).isEqualTo("/p");
        assertThat(e.status()).isEqualTo(200);
        assertThat(e.serverId()).isIn("a", "b");
    }

    @Test
    void getWithBody_refused() throws Exception {
        start(ProxyConfig.defaults(), "/*");
        String r = RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
        assertThat(RawHttp.status(r)).isEqualTo(400);
        assertThat(a.hits.get() + b.hits.get()).isZero();
    }

    static void drain(Response r) throws IOException {
        r.body().source().skip(Long.MAX_VALUE);
    }

    /**
     * A reverse proxy is never a forward proxy: an absolute-form target goes to a pool server (its path only),
     * CONNECT is refused with 405, and {@code OPTIONS *} never reaches another host. A canary listener named in those
     * targets must see no connection.
     */
    @Test
    void forwardProxyTargets_neverReachTheNamedHost() throws Exception {
        start(ProxyConfig.defaults(), "/*");
        try (java.net.ServerSocket canary =
                new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            canary.setSoTimeout(1);
            String named = "127.0.0.1:" + canary.getLocalPort();

            String absolute = RawHttp.exchange(
                    proxy.port(),
                    "GET http://" + named + "/abs?q=1 HTTP/1.1\r\nHost: " + named + "\r\nConnection: close\r\n\r\n");
            assertThat(RawHttp.status(absolute)).as(absolute).isEqualTo(200);
            assertThat(onlySeen().target()).isEqualTo("/abs?q=1");

            String connect = RawHttp.exchange(
                    proxy.port(), "CONNECT " + named + " HTTP/1.1\r\nHost: " + named + "\r\nConnection: close\r\n\r\n");
            assertThat(RawHttp.status(connect)).as(connect).isEqualTo(405);

            String star = RawHttp.exchange(
                    proxy.port(), "OPTIONS * HTTP/1.1\r\nHost: " + named + "\r\nConnection: close\r\n\r\n");
            assertThat(RawHttp.status(star)).as(star).isBetween(200, 499); // the container answers it (404)

            assertThat(a.seen.size() + b.seen.size())
                    .as("requests forwarded besides the absolute-form GET")
                    .isLessThanOrEqualTo(1);
            org.assertj.core.api.Assertions.assertThatThrownBy(canary::accept)
                    .as("connections to the named host")
                    .isInstanceOf(java.net.SocketTimeoutException.class);
        }
    }
}
