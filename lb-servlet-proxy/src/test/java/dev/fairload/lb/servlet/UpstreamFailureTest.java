package dev.fairload.lb.servlet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fairload.lb.LoadBalancer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okio.BufferedSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A backend that resets its connection. Mid-body: before the proxy has committed anything the client gets a clean
 * 502; once the response is under way, the client must see the truncation (a short fixed-length body, a chunked
 * body without its last chunk), never a response that looks complete. Right after reading a POST: 502, and the POST
 * reached the backend exactly once, on a fresh or a pooled connection (RFC 9110 section 9.2.2: a proxy never
 * retries a non-idempotent request on its own).
 */
class UpstreamFailureTest {
    private static final int COMMITTED = 1024 * 1024; // far beyond the proxy's response buffer

    private final OkHttpClient client = new OkHttpClient.Builder()
            .retryOnConnectionFailure(false)
            .readTimeout(10, TimeUnit.SECONDS)
            .callTimeout(20, TimeUnit.SECONDS)
            .build();
    private TruncatingBackend backend;
    private LoadBalancer lb;
    private JettyProxy proxy;

    private void start(boolean chunked, int sent, int declared) throws Exception {
        start(chunked, sent, declared, 5_000);
    }

    private void start(boolean chunked, int sent, int declared, int readTimeoutMillis) throws Exception {
        backend = new TruncatingBackend(chunked, sent, declared);
        proxy = JettyProxy.inFrontOf(
                ProxyConfig.builder().readTimeoutMillis(readTimeoutMillis).build(), backend.port());
        lb = proxy.runtime().loadBalancer();
    }

    @AfterEach
    void stop() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        if (backend != null) {
            backend.close();
        }
        client.dispatcher().executorService().shutdown();
        client.connectionPool().evictAll();
    }

    @Test
    void fixedLengthBodyCutAfterCommit_clientSeesShortBody() throws Exception {
        start(false, COMMITTED, 4 * COMMITTED);
        assertTruncated();
    }

    @Test
    void chunkedBodyCutAfterCommit_clientSeesNoLastChunk() throws Exception {
        start(true, COMMITTED, 0);
        assertTruncated();
    }

    @Test
    void bodyCutBeforeCommit_clientGets502Json() throws Exception {
        start(false, 10, 100);
        try (Response r = client.newCall(
                        new Request.Builder().url(proxy.url("/small")).build())
                .execute()) {
            assertThat(r.code()).isEqualTo(502);
            assertThat(r.body().string()).isEqualTo("{\"error\":\"Bad gateway\"}");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> lb.metrics().inFlight() == 0);
    }

    @Test
    void resetAfterReadingPost_answers502_sentOnce() throws Exception {
        start(false, -1, 0);
        assertPostsSentOnce();
    }

    /**
     * The same on a pooled keep-alive connection: a failure after the request was sent must not be taken for a
     * stale connection and silently resent (a POST acted on twice).
     */
    @Test
    void resetAfterReadingPostOnPooledConnection_answers502_sentOnce() throws Exception {
        start(false, -1, 0);
        backend.keepFirst = true;
        assertPostsSentOnce();
    }

    /** An empty and a one-byte POST each get 502 and reach the backend exactly once (after a GET when pooled). */
    private void assertPostsSentOnce() throws Exception {
        for (RequestBody body : List.of(RequestBody.create(new byte[0]), RequestBody.create(new byte[] {'x'}))) {
            if (backend.keepFirst) {
                try (Response r = client.newCall(
                                new Request.Builder().url(proxy.url("/warm")).build())
                        .execute()) {
                    assertThat(r.body().string()).isEqualTo("ok");
                }
            }
            int before = backend.requests.get();
            try (Response r = client.newCall(new Request.Builder()
                            .url(proxy.url("/order"))
                            .post(body)
                            .build())
                    .execute()) {
                assertThat(r.code()).isEqualTo(502);
            }
            assertThat(backend.requests.get() - before)
                    .as("times a POST of %s bytes reached the backend", body.contentLength())
                    .isEqualTo(1);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> lb.metrics().inFlight() == 0);
    }

    /** A backend that falls silent mid-body, before the proxy committed anything, is too slow: 504. */
    @Test
    void bodyStallsBeforeCommit_clientGets504Json() throws Exception {
        start(false, 10, 100, 300);
        backend.stall = true;
        try (Response r = client.newCall(new Request.Builder()
                        .url(proxy.url("/order"))
                        .post(RequestBody.create(new byte[] {'x'}))
                        .build())
                .execute()) {
            assertThat(r.code()).isEqualTo(504);
            assertThat(r.body().string()).isEqualTo("{\"error\":\"Gateway timeout\"}");
        }
        assertThat(backend.requests.get())
                .as("requests the backend saw (a POST is not resent)")
                .isEqualTo(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> lb.metrics().inFlight() == 0);
    }

    private void assertTruncated() throws IOException {
        try (Response r = client.newCall(
                        new Request.Builder().url(proxy.url("/big")).build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
            BufferedSource body = r.body().source();
            long[] read = {0};
            assertThatThrownBy(() -> {
                        byte[] buf = new byte[65536];
                        for (int n; (n = body.read(buf)) != -1; ) {
                            read[0] += n;
                        }
                    })
                    .as("reading a body the backend broke off")
                    .isInstanceOf(IOException.class);
            assertThat(read[0]).isLessThanOrEqualTo(COMMITTED);
        }
        assertThat(backend.requests.get())
                .as("requests the backend saw (no resend)")
                .isEqualTo(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> lb.metrics().inFlight() == 0);
    }

    /** Answers every request with a 200 whose body it resets after {@code sent} bytes. */
    private static final class TruncatingBackend implements AutoCloseable {
        final AtomicInteger requests = new AtomicInteger();
        volatile boolean keepFirst;
        /** Falls silent after {@code sent} bytes instead of resetting. */
        volatile boolean stall;

        private final ServerSocket listener;
        private final Thread acceptor;

        TruncatingBackend(boolean chunked, int sent, int declared) throws IOException {
            listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            acceptor = new Thread(
                    () -> {
                        while (!listener.isClosed()) {
                            try (Socket s = listener.accept()) {
                                serve(s, chunked, sent, declared);
                            } catch (IOException e) {
                                // closed listener, or the proxy hung up first
                            }
                        }
                    },
                    "truncating-backend");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        int port() {
            return listener.getLocalPort();
        }

        private void serve(Socket s, boolean chunked, int sent, int declared) throws IOException {
            InputStream in = s.getInputStream();
            readHead(in);
            requests.incrementAndGet();
            if (keepFirst) {
                // a healthy first exchange leaves a pooled keep-alive connection behind
                s.getOutputStream()
                        .write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
                readHead(in);
                requests.incrementAndGet();
            }
            if (sent < 0) {
                s.setSoLinger(true, 0); // reset before any answer: the request may have been acted on
                return;
            }
            OutputStream out = s.getOutputStream();
            String head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                    + (chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: " + declared + "\r\n")
                    + "\r\n";
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            byte[] chunk = new byte[8192];
            for (int left = sent; left > 0; left -= chunk.length) {
                int n = Math.min(left, chunk.length);
                if (chunked) {
                    out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                }
                out.write(chunk, 0, n);
                if (chunked) {
                    out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                }
            }
            out.flush();
            if (stall) {
                InputStream rest = s.getInputStream();
                while (rest.read() != -1) {
                    // silent until the proxy gives up and closes the connection
                }
                return;
            }
            s.setSoLinger(true, 0); // close with a reset: no last chunk, no more bytes
        }

        /** Reads up to the blank line ending a request's head (bodies are at most 1 byte and left unread). */
        private static void readHead(InputStream in) throws IOException {
            for (int state = 0, b; state < 4 && (b = in.read()) != -1; ) {
                state = (b == (state % 2 == 0 ? '\r' : '\n')) ? state + 1 : 0;
            }
        }

        @Override
        public void close() throws Exception {
            listener.close();
            acceptor.join(5_000);
        }
    }
}
