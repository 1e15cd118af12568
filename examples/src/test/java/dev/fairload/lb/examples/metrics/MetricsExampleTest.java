package dev.fairload.lb.examples.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.examples.core.CoreExample;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class MetricsExampleTest {

    @Test
    void bind_exposesTheBalancersCounts_inTheRegistry() throws Exception {
        HttpServer backend = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        backend.createContext("/", exchange -> {
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        backend.start();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (LoadBalancer lb = LoadBalancer.builder()
                .name("orders")
                .addServer(Server.builder("127.0.0.1", backend.getAddress().getPort())
                        .id("a")
                        .build())
                .build()) {
            MetricsExample.bind(lb, registry);

            assertThat(CoreExample.handle(lb, "203.0.113.7")).isEqualTo(204);
            assertThat(CoreExample.handle(lb, "203.0.113.7")).isEqualTo(204);

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                assertThat(registry.get("lb.requests")
                                .tags("pool", "orders")
                                .functionCounter()
                                .count())
                        .isEqualTo(2);
                assertThat(registry.get("lb.server.requests")
                                .tags("server", "a")
                                .functionCounter()
                                .count())
                        .isEqualTo(2);
            });
            assertThat(registry.get("lb.servers")
                            .tags("status", "healthy")
                            .gauge()
                            .value())
                    .isEqualTo(1);
        } finally {
            registry.close();
            backend.stop(0);
        }
    }
}
