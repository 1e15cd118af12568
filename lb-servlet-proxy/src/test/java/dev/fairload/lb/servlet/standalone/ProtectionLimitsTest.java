package dev.fairload.lb.servlet.standalone;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fairload.lb.servlet.RawHttp;
import dev.fairload.lb.servlet.TestBackend;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The standalone proxy's protection limits, each hit on purpose through a real listener on loopback: an over-long
 * request target, too many header fields, more concurrent requests than allowed, a client that never finishes
 * its request line, and one that trickles its request body.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ProtectionLimitsTest {
    @TempDir
    Path dir;

    private TestBackend backend;
    private StandaloneProxy proxy;
    private final ExecutorService pool = Executors.newFixedThreadPool(3);

    @BeforeEach
    void start() throws Exception {
        backend = new TestBackend("b");
        proxy = InProcessProxy.start(
                dir,
                "proxy",
                backend.port(),
                "maxUriLength: 300",
                "maxRequestHeaders: 10",
                "maxConcurrentRequests: 2",
                "retryAfterSeconds: 7",
                "requestHeaderTimeoutMillis: 500");
    }

    @AfterEach
    void stop() throws Exception {
        pool.shutdownNow();
        if (proxy != null) {
            proxy.stop();
        }
        backend.close();
    }

    private String exchange(String request) throws IOException {
        return RawHttp.exchange(proxy.port(), request);
    }

    @Test
    void requestTargetOverMaxUriLength_414_noBackendContacted() throws Exception {
        String response = exchange("GET /" + "a".repeat(300) + " HTTP/1.1\r\nHost: x\r\n\r\n");

        assertThat(RawHttp.status(response)).as(response).isEqualTo(414);
        assertThat(response.toLowerCase(java.util.Locale.ROOT)).contains("connection: close");
        String atLimit = exchange("GET /" + "a".repeat(299) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertThat(RawHttp.status(atLimit)).as(atLimit).isEqualTo(200);
        assertThat(backend.seen)
                .singleElement()
                .satisfies(s -> assertThat(s.target()).hasSize(300));
    }

    @Test
    void moreThanMaxRequestHeaders_431_noBackendContacted() throws Exception {
        StringBuilder headers = new StringBuilder("Host: x\r\n");
        for (int i = 0; i < 10; i++) {
            headers.append("X-Field-").append(i).append(": v\r\n");
        }
        String response = exchange("GET /h HTTP/1.1\r\n" + headers + "\r\n");

        assertThat(RawHttp.status(response)).as(response).isEqualTo(431);
        assertThat(response.toLowerCase(java.util.Locale.ROOT)).contains("connection: close");
        assertThat(backend.seen).isEmpty();
    }

    @Test
    void overMaxConcurrentRequests_503AtOnceWithRetryAfter() throws Exception {
        List<Future<String>> held = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            held.add(pool.submit(() -> exchange("GET /slow?ms=3000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
        }
        await().atMost(Duration.ofSeconds(10))
                .until(() -> backend.seen.stream()
                                .filter(s -> s.target().startsWith("/slow"))
                                .count()
                        == 2);
        long start = System.nanoTime();
        String refused = exchange("GET /third HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertThat(RawHttp.status(refused)).as(refused).isEqualTo(503);
        assertThat(refused).contains("Retry-After: 7");
        assertThat(took).as("refused at once, not queued").isLessThan(Duration.ofMillis(1500));
        assertThat(backend.seen).noneMatch(s -> s.target().equals("/third"));
        for (Future<String> f : held) {
            assertThat(RawHttp.status(f.get(20, TimeUnit.SECONDS))).isEqualTo(200);
        }
    }

    @Test
    void slowlorisPartialRequestLine_closedAfterRequestHeaderTimeout() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", proxy.port())) {
            socket.setSoTimeout(10_000);
            long start = System.nanoTime();
            socket.getOutputStream().write("GET /slowloris HT".getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            InputStream in = socket.getInputStream();
            int read;
            try {
                read = in.read();
                while (read != -1) {
                    read = in.read(); // whatever Jetty says before closing
                }
            } catch (SocketException reset) {
                read = -1;
            }
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(read).isEqualTo(-1);
            assertThat(took).isBetween(Duration.ofMillis(400), Duration.ofSeconds(5));
        }
        assertThat(backend.seen).isEmpty();
    }

    @Test
    void trickledRequestBody_releasedWithinRequestPlusIdleTimeout() throws Exception {
        // Its own proxy: a 1 s request timeout and a 1 s idle timeout. The client sends one body byte every 300 ms, so
        // the connection is never idle long enough for the idle timeout alone; the request timeout ends the upstream
        // call and the next byte (or at most one idle timeout) releases the container thread.
        StandaloneProxy trickle = InProcessProxy.start(
                dir,
                "trickle",
                backend.port(),
                "requestTimeoutMillis: 1000",
                "idleTimeoutMillis: 1000",
                "responseHeadersTimeoutMillis: 1000");
        ScheduledExecutorService drip = Executors.newSingleThreadScheduledExecutor();
        try (Socket socket = new Socket("127.0.0.1", trickle.port())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            long start = System.nanoTime();
            drip.scheduleAtFixedRate(
                    () -> {
                        try {
                            out.write('x');
                            out.flush();
                        } catch (IOException closed) {
                            throw new java.io.UncheckedIOException(closed); // ends the schedule
                        }
                    },
                    0,
                    300,
                    TimeUnit.MILLISECONDS);
            String answer;
            try {
                answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            } catch (SocketException reset) {
                answer = "";
            }
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(took).as(answer).isBetween(Duration.ofMillis(900), Duration.ofMillis(3500));
            if (!answer.isEmpty()) {
                assertThat(RawHttp.status(answer)).as(answer).isIn(408, 502, 504);
            }
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> trickle.runtime().inFlightRequests() == 0
                            && trickle.runtime().loadBalancer().metrics().inFlight() == 0);
        } finally {
            drip.shutdownNow();
            trickle.stop();
        }
        assertThat(backend.seen).noneMatch(s -> s.target().equals("/upload") && s.bodyBytes() == 100_000);
    }

    @Test
    void requestHeadersOverMaxRequestHeaderSize_431_noBackendContacted() throws Exception {
        String response =
                exchange("GET /big-header HTTP/1.1\r\nHost: x\r\nX-Big: " + "v".repeat(17 * 1024) + "\r\n\r\n");

        assertThat(RawHttp.status(response)).as(response).isEqualTo(431);
        assertThat(backend.seen).isEmpty();
    }

    @Test
    void overMaxRequestsPerServer_503WithRetryAfter_neverCountedAgainstTheServer() throws Exception {
        // Its own proxy: one request at a time per server, passive ejection after the default 5 failures in a row.
        StandaloneProxy limited = InProcessProxy.start(
                dir, "per-server", backend.port(), "maxRequestsPerServer: 1", "retryAfterSeconds: 3");
        try {
            Future<String> held = pool.submit(() -> RawHttp.exchange(
                    limited.port(), "GET /slow?ms=2000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> backend.seen.stream().anyMatch(r -> r.target().startsWith("/slow")));
            for (int i = 0; i < 8; i++) {
                String refused =
                        RawHttp.exchange(limited.port(), "GET /over HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                assertThat(RawHttp.status(refused)).as(refused).isEqualTo(503);
                assertThat(refused).contains("Retry-After: 3");
            }
            assertThat(RawHttp.status(held.get(20, TimeUnit.SECONDS))).isEqualTo(200);
            String after =
                    RawHttp.exchange(limited.port(), "GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            assertThat(RawHttp.status(after)).as(after).isEqualTo(200);
            assertThat(backend.seen).noneMatch(r -> r.target().equals("/over"));
            // A lease completes once the proxy has closed the upstream body, which may be just after the client has
            // the response.
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> limited.runtime().loadBalancer().metrics().inFlight() == 0);
            dev.fairload.lb.ServerView server =
                    limited.runtime().loadBalancer().pool().list().get(0);
            assertThat(server.totalRequests())
                    .as("requests the server completed")
                    .isEqualTo(2);
            assertThat(server.failures())
                    .as("failures counted against the full server")
                    .isZero();
            assertThat(server.status()).isEqualTo(dev.fairload.lb.ServerStatus.HEALTHY);
        } finally {
            limited.stop();
        }
    }
}
