package dev.fairload.lb.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fairload.lb.Lease;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.PickContext;
import dev.fairload.lb.Server;
import dev.fairload.lb.ServerStatus;
import dev.fairload.lb.Strategy;
import dev.fairload.lb.event.LbEvent;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Passive health, slow start and panic mode, with requests sent to real local servers. */
class PassiveHealthTest {
    private static final Duration EJECTION = Duration.ofMillis(300);
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    private List<Backend> backends(int n) throws IOException {
        List<Backend> list = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Backend b = new Backend();
            closeables.add(b);
            list.add(b);
        }
        return list;
    }

    private LoadBalancer balancer(LoadBalancer.Builder b, List<Backend> backends) {
        for (int i = 0; i < backends.size(); i++) {
            b.addServer(backends.get(i).server("s" + i));
        }
        LoadBalancer lb = b.build();
        closeables.add(0, lb);
        return lb;
    }

    /** One request through the balancer to a real backend; returns the id of the server that answered. */
    private String send(LoadBalancer lb) throws InterruptedException {
        try (Lease lease = lb.pick(PickContext.empty())) {
            if (!lease.isAcquired()) {
                return null;
            }
            Server s = lease.server();
            try {
                HttpResponse<Void> response = http.send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/work"))
                                .timeout(Duration.ofSeconds(2))
                                .build(),
                        HttpResponse.BodyHandlers.discarding());
                lease.complete(response.statusCode());
            } catch (IOException e) {
                lease.fail(e);
            }
            return s.id();
        }
    }

    private static OutlierDetection.Builder outliers() {
        return OutlierDetection.builder()
                .consecutiveFailures(5)
                .baseEjectionTime(EJECTION)
                .maxEjectionTime(EJECTION.multipliedBy(10))
                .maxEjectionPercent(50);
    }

    @Test
    void failingBackend_ejectedAfterFiveFailures_andBackAfterEjectionTime() throws Exception {
        List<Backend> backends = backends(3);
        LoadBalancer lb = balancer(
                LoadBalancer.builder()
                        .strategy(Strategy.roundRobin())
                        .outlierDetection(outliers().build()),
                backends);
        List<LbEvent> events = new java.util.concurrent.CopyOnWriteArrayList<>();
        lb.addListener(events::add);
        backends.get(0).answer(500, "broken");
        // The ejection is applied by the control plane just after the fifth failure completes, not inside it: so the
        // loop stops at the fifth failure and waits for it, instead of racing a sixth pick against the ejection.
        int sentToBroken = 0;
        for (int i = 0; i < 30 && sentToBroken < 5; i++) {
            if ("s0".equals(send(lb))) {
                sentToBroken++;
                if (sentToBroken < 5) {
                    assertThat(lb.pool().get("s0").orElseThrow().status())
                            .as("after %s failures in a row", sentToBroken)
                            .isEqualTo(ServerStatus.HEALTHY);
                }
            }
        }
        assertThat(sentToBroken).isEqualTo(5);
        await().atMost(30, TimeUnit.SECONDS)
                .until(() -> lb.pool().get("s0").orElseThrow().status() == ServerStatus.UNHEALTHY);
        HealthReport report = lb.health("s0");
        assertThat(report.ejected()).isTrue();
        assertThat(report.circuitState()).isEqualTo("OPEN");
        assertThat(lb.metrics().ejections()).isEqualTo(1);
        await().atMost(30, TimeUnit.SECONDS)
                .until(() -> events.stream()
                        .anyMatch(e -> e instanceof LbEvent.StatusChanged c
                                && c.reason().endsWith("ejected for 300 ms")));

        // Nothing reaches the ejected server before its ejection time is over.
        java.time.Instant until = report.ejectedUntil();
        for (int i = 0; i < 20; i++) {
            if ("s0".equals(send(lb))) {
                assertThat(java.time.Instant.now()).isAfterOrEqualTo(until.minusMillis(2));
            }
        }

        backends.get(0).answer(200, "fixed");
        await().atMost(30, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(20)).until(() -> {
            send(lb);
            return lb.pool().get("s0").orElseThrow().status() == ServerStatus.HEALTHY;
        });
        assertThat(lb.health("s0").circuitState()).isEqualTo("CLOSED");
        assertThat(lb.health("s0").ejected()).isFalse();
    }

    @Test
    void ejectedServer_trialAsSoonAsActiveChecksPassRiseTimes_notAfterTheEjectionTime() throws Exception {
        List<Backend> backends = backends(2);
        Duration ejection = Duration.ofSeconds(60);
        LoadBalancer lb = balancer(
                LoadBalancer.builder()
                        .strategy(Strategy.roundRobin())
                        .activeHealthCheck(ActiveHealthCheck.builder()
                                .interval(Duration.ofMillis(200))
                                .timeout(Duration.ofMillis(100))
                                .rise(2)
                                // Out of reach: the request path, not the checks, takes the server out, however
                                // slowly a loaded machine sends the requests.
                                .fall(1_000)
                                .jitter(0)
                                .build())
                        .outlierDetection(outliers()
                                .baseEjectionTime(ejection)
                                .maxEjectionTime(ejection.multipliedBy(2))
                                .build()),
                backends);
        await().atMost(30, TimeUnit.SECONDS)
                .until(() -> lb.pool().get("s0").orElseThrow().status() == ServerStatus.HEALTHY);
        // Down (checks fail too), then ejected by the request path's failures.
        backends.get(0).answer(500, "down");
        await().atMost(30, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(5)).until(() -> {
            send(lb);
            return lb.health("s0").ejected();
        });
        assertThat(lb.health("s0").circuitState()).isEqualTo("OPEN");
        long ejectedAt = System.nanoTime();

        // Back: two passing checks later (about 0.4 s) the next request is its trial, which readmits it.
        backends.get(0).answer(200, "back");
        await().atMost(30, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(20)).until(() -> {
            send(lb);
            return lb.pool().get("s0").orElseThrow().status() == ServerStatus.HEALTHY;
        });
        // Long before the 60 s ejection time would have ended.
        assertThat(Duration.ofNanos(System.nanoTime() - ejectedAt)).isLessThan(ejection.dividedBy(2));
        assertThat(lb.health("s0").ejected()).isFalse();
        assertThat(lb.health("s0").circuitState()).isEqualTo("CLOSED");
    }

    @Test
    void ejectedServer_failingChecksAfterTheEjection_noEarlyTrial() throws Exception {
        List<Backend> backends = backends(2);
        LoadBalancer lb = balancer(
                LoadBalancer.builder()
                        .strategy(Strategy.roundRobin())
                        .activeHealthCheck(ActiveHealthCheck.builder()
                                .interval(Duration.ofMillis(100))
                                .timeout(Duration.ofMillis(50))
                                .rise(2)
                                // Out of reach: the request path, not the checks, takes the server out, however
                                // slowly a loaded machine sends the requests.
                                .fall(1_000)
                                .jitter(0)
                                .build())
                        .outlierDetection(outliers()
                                .baseEjectionTime(Duration.ofSeconds(60))
                                .maxEjectionTime(Duration.ofSeconds(120))
                                .build()),
                backends);
        await().atMost(30, TimeUnit.SECONDS)
                .until(() -> lb.pool().get("s0").orElseThrow().status() == ServerStatus.HEALTHY);
        backends.get(0).answer(500, "down");
        await().atMost(30, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(5)).until(() -> {
            send(lb);
            return lb.health("s0").ejected();
        });
        int before = backends.get(0).requests.get();
        // Checks keep failing: through ten check intervals no trial is offered and no request reaches it, apart
        // from the checks themselves (at most one per interval, plus the one in progress).
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        await().atMost(30, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(10)).until(() -> {
            assertThat(send(lb)).isEqualTo("s1");
            return System.nanoTime() >= end;
        });
        assertThat(lb.health("s0").ejected()).isTrue();
        assertThat(lb.health("s0").circuitState()).isEqualTo("OPEN");
        assertThat(backends.get(0).requests.get() - before).isLessThanOrEqualTo(12);
    }

    @Test
    void failedTrial_ejectsAgainForLonger() throws Exception {
        List<Backend> backends = backends(2);
        LoadBalancer lb = balancer(
                LoadBalancer.builder()
                        .strategy(Strategy.roundRobin())
                        .outlierDetection(outliers().build()),
                backends);
        backends.get(0).answer(503, "broken");
        while (lb.pool().get("s0").orElseThrow().status() != ServerStatus.UNHEALTHY) {
            send(lb);
        }
        assertThat(lb.health("s0").ejections()).isEqualTo(1);
        // After the ejection time exactly one trial request reaches the server; it fails.
        int before = backends.get(0).requests.get();
        await().atMost(30, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(20)).until(() -> {
            send(lb);
            return lb.health("s0").ejections() == 2;
        });
        assertThat(backends.get(0).requests.get()).isEqualTo(before + 1);
        HealthReport report = lb.health("s0");
        assertThat(report.ejected()).isTrue();
        Duration left = Duration.between(java.time.Instant.now(), report.ejectedUntil());
        assertThat(left).isGreaterThan(EJECTION);
    }

    @Test
    void ejection_neverExceedsItsShareOfThePool() throws Exception {
        List<Backend> backends = backends(10);
        LoadBalancer lb = balancer(
                LoadBalancer.builder()
                        .strategy(Strategy.roundRobin())
                        .outlierDetection(outliers().maxEjectionPercent(10).build()),
                backends);
        backends.get(1).answer(500, "x");
        backends.get(2).answer(500, "x");
        for (int i = 0; i < 300; i++) {
            send(lb);
        }
        long ejected = lb.pool().list().stream()
                .filter(v -> v.status() == ServerStatus.UNHEALTHY)
                .count();
        assertThat(ejected).isEqualTo(1);
        assertThat(lb.metrics().ejections()).isGreaterThanOrEqualTo(1);
    }

    @Test
    void slowStart_newServersShareGrowsOverTheWindow() throws Exception {
        List<Backend> backends = backends(2);
        Duration window = Duration.ofSeconds(2);
        LoadBalancer lb = balancer(
                LoadBalancer.builder().strategy(Strategy.weighted()).slowStart(window), List.of(backends.get(0)));
        Server joining = backends.get(1).serverBuilder("new").weight(10).build();
        lb.pool().setWeight("s0", 10);
        await().atMost(30, TimeUnit.SECONDS)
                .until(() -> lb.pool().get("s0").orElseThrow().effectiveWeight() == 10);
        lb.pool().add(joining);
        int early = lb.pool().get("new").orElseThrow().effectiveWeight();
        double earlyShare = share(lb, "new");
        await().atMost(window.multipliedBy(3))
                .until(() -> lb.pool().get("new").orElseThrow().effectiveWeight() == 10);
        double lateShare = share(lb, "new");
        assertThat(early).isEqualTo(1);
        assertThat(earlyShare).isLessThan(0.25);
        assertThat(lateShare).isEqualTo(0.5);
    }

    private static double share(LoadBalancer lb, String id) {
        Map<String, Integer> counts = new HashMap<>();
        int picks = 200;
        for (int i = 0; i < picks; i++) {
            try (Lease lease = lb.pick()) {
                counts.merge(lease.server().id(), 1, Integer::sum);
            }
        }
        return counts.getOrDefault(id, 0) / (double) picks;
    }

    @Test
    void panicThreshold_usesEveryServerWhenTooFewAreHealthy() throws Exception {
        List<Backend> backends = backends(4);
        LoadBalancer lb = balancer(
                LoadBalancer.builder()
                        .strategy(Strategy.roundRobin())
                        .panicThreshold(50)
                        .activeHealthCheck(ActiveHealthCheck.builder()
                                .interval(Duration.ofMillis(200))
                                .timeout(Duration.ofMillis(100))
                                .build()),
                backends);
        await().atMost(30, TimeUnit.SECONDS).until(() -> lb.pool().healthyCount() == 4);
        assertThat(lb.metrics().panicPicks()).isZero();
        for (int i = 0; i < 3; i++) {
            backends.get(i).answer(503, "down");
        }
        await().atMost(30, TimeUnit.SECONDS)
                .until(() -> lb.pool().list().stream()
                                .filter(v -> v.status() == ServerStatus.UNHEALTHY)
                                .count()
                        == 3);
        // A status is visible a moment before the balancer publishes the picks it implies: wait for a panic pick.
        await().atMost(30, TimeUnit.SECONDS).until(() -> {
            try (Lease lease = lb.pick()) {
                return lb.metrics().panicPicks() > 0;
            }
        });
        long before = lb.metrics().panicPicks();
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 40; i++) {
            try (Lease lease = lb.pick()) {
                counts.merge(lease.server().id(), 1, Integer::sum);
            }
        }
        assertThat(counts).hasSize(4);
        assertThat(lb.metrics().panicPicks() - before).isEqualTo(40);

        lb.panicThreshold(0);
        for (int i = 0; i < 10; i++) {
            try (Lease lease = lb.pick()) {
                assertThat(lease.server().id()).isEqualTo("s3");
            }
        }
    }
}
