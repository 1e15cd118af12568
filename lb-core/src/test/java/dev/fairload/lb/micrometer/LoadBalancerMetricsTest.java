package dev.fairload.lb.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fairload.lb.Lease;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LoadBalancerMetricsTest {
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final LoadBalancer lb = LoadBalancer.builder()
            .name("orders")
            .addServer(Server.builder("127.0.0.1", 8001).id("a").build())
            .addServer(Server.builder("127.0.0.1", 8002).id("b").weight(3).build())
            .build();

    @AfterEach
    void close() {
        lb.close();
        registry.close();
    }

    private void complete(int status, long millis) {
        try (Lease lease = lb.pick()) {
            lease.complete(status, TimeUnit.MILLISECONDS.toNanos(millis));
        }
    }

    private double counter(String name, String... tags) {
        return registry.get(name).tags(tags).functionCounter().count();
    }

    private double gauge(String name, String... tags) {
        return registry.get(name).tags(tags).gauge().value();
    }

    @Test
    void bindTo_countsRequestsByClassAndServer() {
        new LoadBalancerMetrics(lb, Tags.of("app", "shop")).bindTo(registry);
        complete(200, 10);
        complete(200, 20);
        complete(503, 30);
        await().atMost(Duration.ofSeconds(2)).untilAsserted(() -> {
            assertThat(counter("lb.requests", "pool", "orders", "app", "shop")).isEqualTo(3);
            assertThat(counter("lb.requests.failed", "pool", "orders")).isEqualTo(1);
            assertThat(counter("lb.responses", "class", "2xx")).isEqualTo(2);
            assertThat(counter("lb.responses", "class", "5xx")).isEqualTo(1);
            assertThat(counter("lb.server.requests", "server", "a") + counter("lb.server.requests", "server", "b"))
                    .isEqualTo(3);
        });
        assertThat(gauge("lb.servers", "status", "healthy")).isEqualTo(2);
        assertThat(gauge("lb.server.weight", "server", "b")).isEqualTo(3);
        assertThat(gauge("lb.server.healthy", "server", "a")).isEqualTo(1);
        assertThat(registry.get("lb.response.time")
                        .tags("quantile", "0.99")
                        .timeGauge()
                        .value(TimeUnit.MILLISECONDS))
                .isGreaterThan(20);
    }

    @Test
    void overloadedPicks_areCounted() {
        new LoadBalancerMetrics(lb).bindTo(registry);
        lb.maxInFlightPerServer(1);
        try (Lease first = lb.pick();
                Lease second = lb.pick();
                Lease refused = lb.pick()) {
            assertThat(first.isAcquired()).isTrue();
            assertThat(second.isAcquired()).isTrue();
            assertThat(refused.unavailableReason()).isEqualTo(Lease.Unavailable.OVERLOADED);
        }
        await().atMost(Duration.ofSeconds(2))
                .untilAsserted(() -> assertThat(counter("lb.overloaded")).isEqualTo(1));
    }

    @Test
    void inFlight_isAGauge() {
        new LoadBalancerMetrics(lb).bindTo(registry);
        Lease lease = lb.pick();
        await().atMost(Duration.ofSeconds(2))
                .untilAsserted(() -> assertThat(gauge("lb.requests.active")).isEqualTo(1));
        lease.complete(200);
        await().atMost(Duration.ofSeconds(2))
                .untilAsserted(() -> assertThat(gauge("lb.requests.active")).isZero());
    }

    @Test
    void serversAddedAndRemoved_getAndLoseTheirMeters() throws IOException {
        LoadBalancerMetrics metrics = new LoadBalancerMetrics(lb);
        metrics.bindTo(registry);
        lb.pool().add(Server.builder("127.0.0.1", 8003).id("c").build());
        await().atMost(Duration.ofSeconds(2))
                .until(() ->
                        registry.find("lb.server.requests").tag("server", "c").functionCounter() != null);
        lb.pool().remove("a");
        await().atMost(Duration.ofSeconds(2))
                .until(() ->
                        registry.find("lb.server.requests").tag("server", "a").functionCounter() == null);
        metrics.close();
        assertThat(registry.find("lb.server.requests").meters()).isEmpty();
        assertThat(registry.find("lb.requests").functionCounter()).isNotNull();
    }
}
