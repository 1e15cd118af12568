package dev.fairload.lb.servlet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.Test;

/**
 * A backend that never completes the TCP handshake (its accept queue is full, so the kernel drops the proxy's SYN):
 * the connection attempt ends at {@code connectTimeoutMillis}, and since nothing was sent the request, a POST
 * included, moves on to the next server.
 */
class ConnectTimeoutTest {
    private static final int CONNECT_TIMEOUT_MILLIS = 300;

    @Test
    void unansweredConnect_retriedElsewhereWithinConnectTimeout() throws Exception {
        List<Socket> fillers = new ArrayList<>();
        OkHttpClient client = new OkHttpClient.Builder()
                .retryOnConnectionFailure(false)
                .readTimeout(10, TimeUnit.SECONDS)
                .build();
        try (ServerSocket silent = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                TestBackend good = new TestBackend("good")) {
            fillAcceptQueue(silent, fillers);
            LoadBalancer lb = LoadBalancer.builder()
                    .addServer(Server.of("127.0.0.1", silent.getLocalPort()))
                    .addServer(good.asServer())
                    .build();
            try (ProxyRuntime runtime = ProxyRuntime.builder(lb)
                            .config(ProxyConfig.builder()
                                    .connectTimeoutMillis(CONNECT_TIMEOUT_MILLIS)
                                    .build())
                            .closeBalancer(true)
                            .build();
                    JettyProxy proxy = new JettyProxy(runtime, "/*")) {
                for (int i = 0; i < 4; i++) {
                    long start = System.nanoTime();
                    try (Response r = client.newCall(new Request.Builder()
                                    .url(proxy.url("/upload"))
                                    .post(RequestBody.create(new byte[] {'x'}))
                                    .build())
                            .execute()) {
                        assertThat(r.code()).isEqualTo(200);
                        assertThat(r.body().string()).isEqualTo("1");
                    }
                    assertThat(Duration.ofNanos(System.nanoTime() - start))
                            .as("a request, at most one connect timeout included")
                            .isLessThan(Duration.ofMillis(CONNECT_TIMEOUT_MILLIS + 2_000));
                }
                assertThat(good.hits.get()).isEqualTo(4);
                assertThat(lb.pool().list())
                        .filteredOn(v -> v.server().port() == silent.getLocalPort())
                        .singleElement()
                        .satisfies(v -> assertThat(v.failures())
                                .as("connect timeouts counted")
                                .isPositive());
            }
        } finally {
            for (Socket s : fillers) {
                s.close();
            }
            client.dispatcher().executorService().shutdown();
            client.connectionPool().evictAll();
        }
    }

    /** Connects until a connection no longer completes: the listener never accepts, so its queue fills up. */
    private static void fillAcceptQueue(ServerSocket listener, List<Socket> fillers) throws IOException {
        for (int i = 0; i < 16; i++) {
            Socket s = new Socket();
            fillers.add(s);
            try {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort()), 200);
            } catch (java.net.SocketTimeoutException full) {
                return;
            }
        }
        throw new IllegalStateException("the accept queue never filled up");
    }
}
