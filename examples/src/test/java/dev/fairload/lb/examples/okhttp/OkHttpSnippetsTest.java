package dev.fairload.lb.examples.okhttp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.ServerView;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class OkHttpSnippetsTest {
    private final List<HttpServer> backends = new ArrayList<>();
    private final List<OkHttpClient> clients = new ArrayList<>();

    @AfterEach
    void stop() {
        for (OkHttpClient client : clients) {
            client.dispatcher().executorService().shutdown();
            client.connectionPool().evictAll();
        }
        backends.forEach(b -> b.stop(0));
    }

    private int backend(String name) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            byte[] body = name.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        backends.add(server);
        return server.getAddress().getPort();
    }

    private LoadBalancer localOrders() throws IOException {
        return LoadBalancer.builder()
                .name("orders")
                .addServer(Server.builder("127.0.0.1", backend("orders-1"))
                        .id("orders-1")
                        .build())
                .addServer(Server.builder("127.0.0.1", backend("orders-2"))
                        .id("orders-2")
                        .build())
                .build();
    }

    private static Map<String, Integer> call(OkHttpClient client, int calls) throws IOException {
        Map<String, Integer> answers = new TreeMap<>();
        for (int i = 0; i < calls; i++) {
            try (Response response = client.newCall(new Request.Builder()
                            .url("http://orders/orders/" + i)
                            .build())
                    .execute()) {
                assertThat(response.code()).isEqualTo(200);
                answers.merge(response.body().string(), 1, Integer::sum);
            }
        }
        return answers;
    }

    @Test
    void orders_isTheDocsBalancerOfTwoServers() {
        try (LoadBalancer orders = OkHttpSnippets.orders()) {
            assertThat(orders.pool().list().stream().map(v -> v.server().authority()))
                    .containsExactlyInAnyOrder("10.0.0.1:8080", "10.0.0.2:8080");
        }
    }

    @Test
    void client_spreadsCallsToOrdersOverItsServers() throws IOException {
        try (LoadBalancer orders = localOrders()) {
            OkHttpClient client = OkHttpSnippets.client(orders);
            clients.add(client);

            assertThat(call(client, 4)).isEqualTo(Map.of("orders-1", 2, "orders-2", 2));
        }
    }

    @Test
    void evictingClient_closesIdleConnections_whenAServerIsRemoved() throws IOException {
        try (LoadBalancer orders = localOrders()) {
            OkHttpClient client = OkHttpSnippets.evictingClient(orders);
            clients.add(client);
            assertThat(call(client, 4)).isEqualTo(Map.of("orders-1", 2, "orders-2", 2));
            assertThat(client.connectionPool().idleConnectionCount()).isEqualTo(2);

            orders.pool().remove("orders-2");

            await().atMost(Duration.ofSeconds(10))
                    .until(() -> client.connectionPool().connectionCount() == 0);
            assertThat(call(client, 2)).isEqualTo(Map.of("orders-1", 2));
            assertThat(orders.pool().list()).extracting(ServerView::id).containsExactly("orders-1");
        }
    }
}
