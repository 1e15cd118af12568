package dev.fairload.lb;

import static dev.fairload.lb.Servers.balancer;
import static dev.fairload.lb.Servers.numbered;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LeaseTest {

    @Test
    void complete_countsOnceAndReleases() {
        FakeTicker ticker = new FakeTicker();
        try (LoadBalancer lb = LoadBalancer.builder()
                .ticker(ticker)
                .addServer(Servers.server("a", 1))
                .build()) {
            Lease lease = lb.pick();
            assertThat(lb.pool().get("a").orElseThrow().inFlight()).isEqualTo(1);
            ticker.advance(Duration.ofMillis(7));
            lease.complete(200);
            lease.complete(500);
            lease.fail(new IOException("late"));
            lease.close();
            ServerView a = lb.pool().get("a").orElseThrow();
            assertThat(a.inFlight()).isZero();
            assertThat(a.totalRequests()).isEqualTo(1);
            assertThat(a.failures()).isZero();
            assertThat(a.lastResponseTime()).isEqualTo(Duration.ofMillis(7));
            assertThat(a.averageResponseTime()).isEqualTo(Duration.ofMillis(7));
            assertThat(a.lastSeen()).isNotNull();
            MetricsSnapshot m = lb.metrics();
            assertThat(m.totalRequests()).isEqualTo(1);
            assertThat(m.responsesByClass()).containsEntry("2xx", 1L).containsEntry("5xx", 0L);
            assertThat(m.p50()).isBetween(Duration.ofMillis(6), Duration.ofMillis(8));
        }
    }

    @Test
    void fail_and5xx_countAsFailures() {
        try (LoadBalancer lb = balancer(Strategy.roundRobin(), List.of(Servers.server("a", 1)))) {
            lb.pick().complete(503);
            lb.pick().fail(new IOException("refused"));
            lb.pick().complete(404);
            ServerView a = lb.pool().get("a").orElseThrow();
            assertThat(a.totalRequests()).isEqualTo(3);
            assertThat(a.failures()).isEqualTo(2);
            MetricsSnapshot m = lb.metrics();
            assertThat(m.failedRequests()).isEqualTo(2);
            assertThat(m.responsesByClass())
                    .containsEntry("5xx", 1L)
                    .containsEntry("4xx", 1L)
                    .containsEntry("none", 1L);
        }
    }

    @Test
    void close_withoutOutcome_releasesWithoutCounting() {
        try (LoadBalancer lb = balancer(Strategy.roundRobin(), List.of(Servers.server("a", 1)))) {
            Lease lease = lb.pick();
            lease.close();
            lease.close();
            lease.complete(200);
            ServerView a = lb.pool().get("a").orElseThrow();
            assertThat(a.inFlight()).isZero();
            assertThat(a.totalRequests()).isZero();
        }
    }

    @Test
    void leaseOfRemovedServer_stillCompletes() {
        try (LoadBalancer lb = balancer(Strategy.roundRobin(), List.of(Servers.server("a", 1)))) {
            Lease lease = lb.pick();
            lb.pool().remove("a");
            lease.complete(200);
            assertThat(lb.metrics().totalRequests()).isEqualTo(1);
            assertThat(lb.metrics().inFlight()).isZero();
        }
    }

    @Test
    void completeRace_countsExactlyOnce() throws Exception {
        try (LoadBalancer lb = balancer(Strategy.roundRobin(), numbered(3))) {
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                int leases = 2_000;
                for (int i = 0; i < leases; i++) {
                    Lease lease = lb.pick();
                    CountDownLatch start = new CountDownLatch(1);
                    List<Future<?>> racers = new ArrayList<>();
                    racers.add(pool.submit(() -> await(start, () -> lease.complete(200))));
                    racers.add(pool.submit(() -> await(start, () -> lease.complete(502))));
                    racers.add(pool.submit(() -> await(start, () -> lease.fail(new IOException()))));
                    racers.add(pool.submit(() -> await(start, lease::close)));
                    start.countDown();
                    for (Future<?> f : racers) {
                        f.get(10, TimeUnit.SECONDS);
                    }
                }
                long recorded = lb.pool().list().stream()
                        .mapToLong(ServerView::totalRequests)
                        .sum();
                assertThat(recorded).isLessThanOrEqualTo(leases);
                assertThat(lb.metrics().totalRequests()).isEqualTo(recorded);
                assertThat(lb.metrics().inFlight()).isZero();
            } finally {
                pool.shutdownNow();
            }
        }
    }

    private static Void await(CountDownLatch start, Runnable action) throws InterruptedException {
        start.await();
        action.run();
        return null;
    }

    @Test
    void maxInFlightPerServer_spillsOverThenRefusesAtOnce() {
        try (LoadBalancer lb = LoadBalancer.builder()
                .strategy(Strategy.roundRobin())
                .maxInFlightPerServer(2)
                .addServer(Servers.server("a", 1))
                .addServer(Servers.server("b", 1))
                .build()) {
            List<Lease> held = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                Lease lease = lb.pick();
                assertThat(lease.isAcquired()).isTrue();
                held.add(lease);
            }
            assertThat(lb.pool().list())
                    .allSatisfy(v -> assertThat(v.inFlight()).isEqualTo(2));
            Lease refused = lb.pick();
            assertThat(refused.unavailableReason()).isEqualTo(Lease.Unavailable.OVERLOADED);
            assertThat(lb.metrics().overloaded()).isEqualTo(1);
            held.get(0).complete(200);
            assertThat(lb.pick().isAcquired()).isTrue();
            lb.maxInFlightPerServer(0);
            assertThat(lb.pick().isAcquired()).isTrue();
        }
    }
}
