package dev.fairload.lb.servlet.standalone;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fairload.lb.servlet.TestBackend;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.Call;
import okhttp3.Callback;
import okhttp3.EventListener;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTP/2 abuse on the standalone proxy's h2c listener: a client that opens streams and resets them at once (the
 * "rapid reset" attack, CVE-2023-44487) has its connection closed, the backends see a bounded share of the streams,
 * and other clients are served meanwhile.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class Http2AbuseTest {
    private static final int STREAMS = 5_000;

    @TempDir
    Path dir;

    private TestBackend backend;
    private StandaloneProxy proxy;

    @BeforeEach
    void start() throws Exception {
        backend = new TestBackend("b");
        proxy = InProcessProxy.start(dir, "proxy", backend.port());
    }

    @AfterEach
    void stop() throws Exception {
        if (proxy != null) {
            proxy.stop();
        }
        backend.close();
    }

    /**
     * The proxy does not forward upgrades, so it must not invite WebSocket over HTTP/2: its SETTINGS frame, read
     * off the wire after the h2c preface, has no SETTINGS_ENABLE_CONNECT_PROTOCOL (0x8) set to 1 (RFC 8441).
     */
    @Test
    void h2cSettings_doNotAdvertiseExtendedConnect() throws Exception {
        try (java.net.Socket socket = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), proxy.port())) {
            socket.setSoTimeout(10_000);
            java.io.OutputStream out = socket.getOutputStream();
            out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            out.write(new byte[] {0, 0, 0, 0x4, 0, 0, 0, 0, 0}); // an empty SETTINGS frame
            out.flush();
            java.io.DataInputStream in = new java.io.DataInputStream(socket.getInputStream());
            byte[] header = new byte[9];
            in.readFully(header);
            int length = ((header[0] & 0xff) << 16) | ((header[1] & 0xff) << 8) | (header[2] & 0xff);
            assertThat(header[3]).as("the server's first frame is SETTINGS").isEqualTo((byte) 0x4);
            assertThat(header[4] & 0x1).as("not an ACK").isZero();
            byte[] payload = new byte[length];
            in.readFully(payload);
            java.util.Map<Integer, Long> settings = new java.util.HashMap<>();
            for (int i = 0; i + 6 <= length; i += 6) {
                int id = ((payload[i] & 0xff) << 8) | (payload[i + 1] & 0xff);
                long value = ((payload[i + 2] & 0xffL) << 24)
                        | ((payload[i + 3] & 0xffL) << 16)
                        | ((payload[i + 4] & 0xffL) << 8)
                        | (payload[i + 5] & 0xffL);
                settings.put(id, value);
            }
            assertThat(settings).as("SETTINGS %s", settings).isNotEmpty().doesNotContainEntry(0x8, 1L);
        }
    }

    @Test
    void rapidReset_connectionClosed_backendLoadBounded_othersServed() throws Exception {
        AtomicInteger connections = new AtomicInteger();
        okhttp3.Dispatcher dispatcher = new okhttp3.Dispatcher();
        dispatcher.setMaxRequests(256);
        dispatcher.setMaxRequestsPerHost(256);
        OkHttpClient abuser = new OkHttpClient.Builder()
                .dispatcher(dispatcher)
                .protocols(List.of(Protocol.H2_PRIOR_KNOWLEDGE))
                .retryOnConnectionFailure(false)
                .eventListener(new EventListener() {
                    @Override
                    public void requestHeadersEnd(Call call, Request request) {
                        call.cancel(); // HEADERS sent: reset the stream at once
                    }

                    @Override
                    public void connectEnd(
                            Call call, java.net.InetSocketAddress address, java.net.Proxy proxy, Protocol protocol) {
                        connections.incrementAndGet();
                    }
                })
                .build();
        OkHttpClient other = new OkHttpClient.Builder()
                .protocols(List.of(Protocol.H2_PRIOR_KNOWLEDGE))
                .callTimeout(10, TimeUnit.SECONDS)
                .build();
        try {
            Callback ignore = new Callback() {
                @Override
                public void onFailure(Call call, IOException e) {}

                @Override
                public void onResponse(Call call, Response response) {
                    response.close();
                }
            };
            String url = "http://127.0.0.1:" + proxy.port() + "/slow?ms=200";
            for (int i = 0; i < STREAMS; i++) {
                Call call = abuser.newCall(new Request.Builder().url(url).build());
                call.enqueue(ignore);
            }
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> dispatcher.runningCallsCount() + dispatcher.queuedCallsCount() == 0);
            // Each abusive connection is closed after a few dozen resets (measured: 5,000 streams took 114
            // connections, and 130 of them reached the backend); the bounds leave a wide margin.
            assertThat(connections.get())
                    .as("connections the abuser had to open: the proxy closes abusive ones")
                    .isGreaterThanOrEqualTo(10);
            assertThat(backend.seen.size())
                    .as("reset streams that reached a backend")
                    .isLessThan(STREAMS / 10);
            try (Response r = other.newCall(new Request.Builder()
                            .url("http://127.0.0.1:" + proxy.port() + "/other")
                            .build())
                    .execute()) {
                assertThat(r.code()).isEqualTo(200);
            }
            await().atMost(Duration.ofSeconds(20))
                    .until(() -> proxy.runtime().loadBalancer().metrics().inFlight() == 0);
            assertThat(backend.seen).anyMatch(r -> r.target().equals("/other"));
        } finally {
            abuser.dispatcher().executorService().shutdownNow();
            abuser.connectionPool().evictAll();
            other.dispatcher().executorService().shutdownNow();
            other.connectionPool().evictAll();
        }
    }
}
