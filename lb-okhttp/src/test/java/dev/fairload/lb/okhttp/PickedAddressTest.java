package dev.fairload.lb.okhttp;

import static dev.fairload.lb.okhttp.TestSupport.answering;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.ServerView;
import dev.fairload.lb.Strategy;
import dev.fairload.lb.event.LbEvent;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockWebServer;
import okhttp3.ConnectionPool;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * OkHttp pools connections by address (host and port), and the interceptor rewrites each attempt to the picked
 * server's address, so a pooled connection to one server is never used for a call picked for another.
 */
class PickedAddressTest {
    private final MockWebServer a = new MockWebServer();
    private final MockWebServer b = new MockWebServer();
    private final ConnectionPool connections = new ConnectionPool(8, 5, TimeUnit.MINUTES);

    @BeforeEach
    void start() throws IOException {
        a.setDispatcher(answering("a"));
        b.setDispatcher(answering("b"));
        a.start(java.net.InetAddress.getByName("127.0.0.1"), 0);
        b.start(java.net.InetAddress.getByName("127.0.0.1"), 0);
    }

    @AfterEach
    void stop() {
        a.close();
        b.close();
        connections.evictAll();
    }

    private LoadBalancer balancer() {
        return LoadBalancer.builder()
                .name("orders")
                .strategy(Strategy.roundRobin())
                .addServer(Server.builder("127.0.0.1", a.getPort()).id("a").build())
                .addServer(Server.builder("127.0.0.1", b.getPort()).id("b").build())
                .build();
    }

    private OkHttpClient client(LoadBalancer lb) {
        return new OkHttpClient.Builder()
                .addInterceptor(
                        LoadBalancingInterceptor.builder().service("orders", lb).build())
                .connectionPool(connections)
                .build();
    }

    private static String call(OkHttpClient client) throws IOException {
        try (Response response = client.newCall(
                        new Request.Builder().url("http://orders/x").build())
                .execute()) {
            return response.body().string();
        }
    }

    @Test
    void eachAttemptReachesThePickedServer_overPooledConnections() throws IOException {
        try (LoadBalancer lb = balancer()) {
            OkHttpClient client = client(lb);
            List<String> answers = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                answers.add(call(client));
            }
            // Round robin picks a, b, a, b, ...: each call was answered by the server picked for it.
            for (int i = 0; i < 20; i++) {
                assertThat(answers.get(i)).isEqualTo(answers.get(i % 2));
            }
            assertThat(answers.subList(0, 2)).containsExactlyInAnyOrder("a", "b");
            assertThat(a.getRequestCount()).isEqualTo(10);
            assertThat(b.getRequestCount()).isEqualTo(10);
            for (ServerView v : lb.pool().list()) {
                assertThat(v.totalRequests()).isEqualTo(10);
            }
            // Pooled: one connection per server, reused.
            assertThat(connections.connectionCount()).isEqualTo(2);
        }
    }

    @Test
    void removedServer_itsIdleConnectionsClosedByAListenerThatEvicts() throws IOException {
        try (LoadBalancer lb = balancer()) {
            // The recipe of docs/okhttp.md: when a server leaves, close the client's idle connections.
            lb.addListener(event -> {
                if (event instanceof LbEvent.ServerRemoved) {
                    connections.evictAll();
                }
            });
            OkHttpClient client = client(lb);
            for (int i = 0; i < 4; i++) {
                call(client);
            }
            assertThat(connections.connectionCount()).isEqualTo(2);
            lb.pool().remove("a");
            await().atMost(Duration.ofSeconds(10)).until(() -> connections.connectionCount() == 0);
            int before = a.getRequestCount();
            for (int i = 0; i < 4; i++) {
                assertThat(call(client)).isEqualTo("b");
            }
            assertThat(a.getRequestCount()).isEqualTo(before);
            assertThat(connections.connectionCount()).isEqualTo(1);
        }
    }
}
