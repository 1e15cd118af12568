package dev.fairload.lb.servlet.admin.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fairload.lb.Lease;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.health.ActiveHealthCheck;
import dev.fairload.lb.health.OutlierDetection;
import dev.fairload.lb.servlet.ProxyRuntime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The status page's history, sampled on a driven clock: per-interval counts, rates, percentiles, the bound. */
class MetricsHistoryTest {
    private static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");

    private LoadBalancer lb;
    private MetricsHistory history;

    @BeforeEach
    void start() {
        lb = LoadBalancer.builder()
                .name("history")
                .addServer(Server.builder("127.0.0.1", 9001).id("a").build())
                .build();
        lb.activeHealthCheck(ActiveHealthCheck.disabled());
        // The 503s below must not eject the only server: every request is to reach it and be counted.
        lb.outlierDetection(OutlierDetection.disabled());
        history = new MetricsHistory(lb);
        lb.addListener(history);
    }

    @AfterEach
    void stop() {
        lb.close();
    }

    /** A request through the balancer and the runtime's exchange record, as the proxy makes them. */
    private void request(int status, long millis, Instant at) {
        try (Lease lease = lb.pick()) {
            lease.complete(status, Duration.ofMillis(millis).toNanos());
        }
        history.onExchange(new ProxyRuntime.Exchange(
                "GET", "/x", "a", status, Duration.ofMillis(millis).toNanos(), at));
    }

    @Test
    void eachSampleCountsItsOwnInterval() {
        history.sample(T0); // baseline
        for (int i = 1; i <= 100; i++) {
            request(i <= 10 ? 503 : 200, i, T0);
        }
        history.sample(T0.plusSeconds(1));
        history.sample(T0.plusSeconds(2)); // an interval without requests

        List<MetricsHistory.Sample> samples = history.samples(0);
        assertThat(samples).hasSize(2);
        MetricsHistory.Sample busy = samples.get(0);
        assertThat(busy.seq()).isEqualTo(1);
        assertThat(busy.timestamp()).isEqualTo(T0.plusSeconds(1));
        assertThat(busy.requests()).isEqualTo(100);
        assertThat(busy.failedRequests()).isEqualTo(10);
        assertThat(busy.requestsPerSecond()).isEqualTo(100.0);
        assertThat(busy.errorRate()).isEqualTo(0.1);
        // Latencies 1..100 ms: p50 is 50 ms and p99 99 ms, within the histogram's 6%.
        assertThat(busy.p50()).isBetween(47.0, 53.0);
        assertThat(busy.p99()).isBetween(93.0, 105.0);

        MetricsHistory.Sample idle = samples.get(1);
        assertThat(idle.requests()).isZero();
        assertThat(idle.errorRate()).isZero();
        assertThat(idle.p50()).isNull();
        assertThat(idle.p99()).isNull();
        assertThat(history.samples(1)).containsExactly(idle);
    }

    @Test
    void keepsFifteenMinutes_oldestDropped() {
        history.sample(T0);
        for (int i = 1; i <= MetricsHistory.SAMPLES + 60; i++) {
            history.sample(T0.plusSeconds(i));
        }
        List<MetricsHistory.Sample> samples = history.samples(0);
        assertThat(samples).hasSize(MetricsHistory.SAMPLES);
        assertThat(samples.get(0).seq()).isEqualTo(61);
        assertThat(samples.get(samples.size() - 1).timestamp()).isEqualTo(T0.plusSeconds(MetricsHistory.SAMPLES + 60));
    }

    @Test
    void failedRequestsAndPoolEvents_newestFirst() {
        Instant at = T0;
        for (int i = 0; i < MetricsHistory.FAILED + 5; i++) {
            request(i % 2 == 0 ? 502 : 200, 1, at = at.plusMillis(1));
        }
        history.onExchange(new ProxyRuntime.Exchange("GET", "/gone", null, 0, 1, at.plusMillis(1)));
        List<ProxyRuntime.Exchange> failed = history.failedRequests();
        assertThat(failed).hasSizeLessThanOrEqualTo(MetricsHistory.FAILED);
        assertThat(failed.get(0).path()).isEqualTo("/gone");
        assertThat(failed).allMatch(e -> e.status() == 502 || e.status() == 0);

        lb.pool().add(Server.builder("127.0.0.1", 9002).id("b").build());
        lb.pool().setWeight("b", 5);
        lb.pool().drain("b");
        await().atMost(Duration.ofSeconds(5)).until(() -> history.events(0).size() >= 3);
        List<MetricsHistory.Event> events = history.events(0);
        assertThat(events.get(0).type()).isEqualTo("status");
        assertThat(events.get(0).to()).isEqualTo("draining");
        assertThat(events).anyMatch(e -> e.type().equals("weight") && e.to().equals("5"));
        assertThat(events).anyMatch(e -> e.type().equals("added") && e.address().equals("127.0.0.1:9002"));
        assertThat(history.events(events.get(0).seq())).isEmpty();
    }

    @Test
    void histogramBuckets_coverEveryLatency() {
        long previous = -1;
        for (long micros : new long[] {0, 1, 7, 8, 9, 15, 16, 1000, 1_000_000, Long.MAX_VALUE}) {
            int bucket = MetricsHistory.bucket(micros);
            assertThat(bucket).isGreaterThanOrEqualTo((int) previous);
            previous = bucket;
            if (micros >= 8 && micros < 1_000_000_000L) {
                assertThat(MetricsHistory.bucketMiddle(bucket))
                        .isCloseTo(micros, org.assertj.core.data.Percentage.withPercentage(7));
            }
        }
    }
}
