package dev.fairload.lb.servlet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A backend that closes keep-alive connections idle longer than its own timeout, as most servers do. The proxy's
 * {@code upstreamIdleTimeoutMillis} below that timeout keeps requests off connections the backend is closing; above
 * it, a POST written to such a connection fails with 502 and is never resent, while a GET is sent again.
 */
class UpstreamIdleTimeoutTest {
    private final OkHttpClient client = new OkHttpClient.Builder()
            .retryOnConnectionFailure(false)
            .readTimeout(10, TimeUnit.SECONDS)
            .callTimeout(20, TimeUnit.SECONDS)
            .build();
    private IdleClosingBackend backend;
    private JettyProxy proxy;

    private void start(int proxyIdleMillis, int backendIdleMillis) throws Exception {
        backend = new IdleClosingBackend(backendIdleMillis);
        proxy = JettyProxy.inFrontOf(
                ProxyConfig.builder().upstreamIdleTimeoutMillis(proxyIdleMillis).build(), backend.port());
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
    void idleTimeoutBelowBackends_closesIdleConnectionsFirst_postSucceeds() throws Exception {
        start(200, 30_000);
        assertThat(call("GET", null)).isEqualTo(200);
        await("the proxy closes its idle connection")
                .atMost(Duration.ofSeconds(5))
                .until(() -> backend.closedByProxy.get() == 1);
        assertThat(call("POST", "x")).isEqualTo(200);
        assertThat(backend.posts.get()).isEqualTo(1);
        assertThat(backend.connections.get()).as("connections opened").isEqualTo(2);
    }

    @Test
    void idleTimeoutAboveBackends_postOnClosedConnection502NeverResent_getSentAgain() throws Exception {
        start(60_000, 300);
        assertThat(call("GET", null)).isEqualTo(200);
        await().atMost(Duration.ofSeconds(5)).until(() -> backend.closedIdle.get() == 1);
        assertThat(call("POST", "x"))
                .as("POST on a connection the backend closed")
                .isEqualTo(502);
        assertThat(backend.posts.get()).as("POSTs the backend received").isZero();

        assertThat(call("GET", null)).isEqualTo(200);
        await().atMost(Duration.ofSeconds(5)).until(() -> backend.closedIdle.get() == 2);
        assertThat(call("GET", null))
                .as("GET on a connection the backend closed")
                .isEqualTo(200);
    }

    /** Lowered through a configuration update, the idle timeout applies at once, without a restart. */
    @Test
    void idleTimeoutLoweredLive_appliesToTheNextConnections() throws Exception {
        start(60_000, 300);
        assertThat(call("GET", null)).isEqualTo(200);
        proxy.runtime().update(java.util.Map.of("upstreamIdleTimeoutMillis", 100));
        assertThat(call("GET", null)).isEqualTo(200);
        await("the proxy closes its idle connection before the backend does")
                .atMost(Duration.ofSeconds(5))
                .until(() -> backend.closedByProxy.get() >= 1);
        assertThat(call("POST", "x")).isEqualTo(200);
        assertThat(backend.posts.get()).isEqualTo(1);
    }

    private int call(String method, String body) throws IOException {
        RequestBody requestBody = body == null ? null : RequestBody.create(body.getBytes(StandardCharsets.UTF_8));
        try (Response r = client.newCall(new Request.Builder()
                        .url(proxy.url("/r"))
                        .method(method, requestBody)
                        .build())
                .execute()) {
            r.body().string();
            return r.code();
        }
    }

    /** Answers 200 "ok" on keep-alive connections; closes one idle for {@code idleMillis}. */
    private static final class IdleClosingBackend implements AutoCloseable {
        final AtomicInteger connections = new AtomicInteger();
        final AtomicInteger posts = new AtomicInteger();
        final AtomicInteger closedIdle = new AtomicInteger();
        final AtomicInteger closedByProxy = new AtomicInteger();
        private final ServerSocket listener;
        private final int idleMillis;
        private final CopyOnWriteArrayList<Socket> open = new CopyOnWriteArrayList<>();
        private final CopyOnWriteArrayList<Thread> threads = new CopyOnWriteArrayList<>();

        IdleClosingBackend(int idleMillis) throws IOException {
            this.idleMillis = idleMillis;
            listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread acceptor = new Thread(this::acceptLoop, "idle-closing-backend");
            acceptor.setDaemon(true);
            threads.add(acceptor);
            acceptor.start();
        }

        int port() {
            return listener.getLocalPort();
        }

        private void acceptLoop() {
            while (!listener.isClosed()) {
                try {
                    Socket s = listener.accept();
                    connections.incrementAndGet();
                    open.add(s);
                    Thread t = new Thread(() -> serve(s), "idle-closing-connection");
                    t.setDaemon(true);
                    threads.add(t);
                    t.start();
                } catch (IOException e) {
                    return; // closed
                }
            }
        }

        private void serve(Socket s) {
            try (s) {
                s.setSoTimeout(idleMillis);
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                while (true) {
                    String head;
                    try {
                        head = readHead(in);
                    } catch (SocketTimeoutException e) {
                        closedIdle.incrementAndGet();
                        return;
                    }
                    if (head == null) {
                        closedByProxy.incrementAndGet();
                        return;
                    }
                    long length = 0;
                    for (String line : head.split("\r\n")) {
                        if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                            length = Long.parseLong(line.substring(15).strip());
                        }
                    }
                    in.readNBytes((int) length);
                    if (head.startsWith("POST ")) {
                        posts.incrementAndGet();
                    }
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                }
            } catch (IOException e) {
                // the connection broke: nothing more to serve on it
            }
        }

        /** The request head up to its blank line, or null when the peer closed the connection first. */
        private static String readHead(InputStream in) throws IOException {
            StringBuilder head = new StringBuilder();
            for (int state = 0, b; state < 4; ) {
                b = in.read();
                if (b == -1) {
                    return null;
                }
                head.append((char) b);
                state = (b == (state % 2 == 0 ? '\r' : '\n')) ? state + 1 : 0;
            }
            return head.toString();
        }

        @Override
        public void close() throws Exception {
            listener.close();
            for (Socket s : open) {
                s.close();
            }
            for (Thread t : threads) {
                t.join(5_000);
            }
        }
    }
}
