package dev.fairload.lb.examples.core;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.ServerView;
import dev.fairload.lb.exchange.Exchange;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CoreExampleTest {
    private final List<HttpServer> backends = new ArrayList<>();

    @AfterEach
    void stopBackends() {
        backends.forEach(b -> b.stop(0));
    }

    private int backend(String name, int status) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            byte[] body = name.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        backends.add(server);
        return server.getAddress().getPort();
    }

    @Test
    void weightedBalancer_holdsBothServersWithTheirWeights() {
        try (LoadBalancer lb = CoreExample.weightedBalancer()) {
            Map<String, Integer> weights = new TreeMap<>();
            for (ServerView view : lb.pool().list()) {
                weights.put(view.server().authority(), view.server().weight());
            }
            assertThat(weights).isEqualTo(Map.of("10.0.0.1:8080", 1, "10.0.0.2:8080", 3));
        }
    }

    @Test
    void handle_sendsToThePickedServerAndReportsItsStatus() throws Exception {
        int port = backend("one", 200);
        try (LoadBalancer lb =
                LoadBalancer.builder().addServer(Server.of("127.0.0.1", port)).build()) {
            assertThat(CoreExample.handle(lb, "203.0.113.7")).isEqualTo(200);

            assertThat(lb.pool().list().get(0).totalRequests()).isEqualTo(1);
        }
    }

    @Test
    void handle_answers503_whenThereIsNoServer() throws Exception {
        try (LoadBalancer lb = LoadBalancer.builder().build()) {
            assertThat(CoreExample.handle(lb, "203.0.113.7")).isEqualTo(503);
            assertThat(CoreExample.handle(lb, "203.0.113.7", "s1"))
                    .isEqualTo(new CoreExample.Response(503, "no server: NO_SERVERS"));
        }
    }

    @Test
    void handle_withASession_forwardsAndReturnsTheServersResponse() throws Exception {
        int port = backend("one", 200);
        try (LoadBalancer lb =
                LoadBalancer.builder().addServer(Server.of("127.0.0.1", port)).build()) {
            assertThat(CoreExample.handle(lb, "203.0.113.7", "s1")).isEqualTo(new CoreExample.Response(200, "one"));
        }
    }

    @Test
    void firstStep_sendsWhenThereIsAServer_andFailsWhenThereIsNone() throws Exception {
        int port = backend("one", 200);
        try (LoadBalancer orders = LoadBalancer.builder()
                        .addServer(Server.of("127.0.0.1", port))
                        .build();
                LoadBalancer empty = LoadBalancer.builder().build()) {
            assertThat(ExchangeExample.firstStep(orders)).isEqualTo(Exchange.Next.SEND);
            assertThat(ExchangeExample.firstStep(empty)).isEqualTo(Exchange.Next.FAIL);
        }
    }
}
