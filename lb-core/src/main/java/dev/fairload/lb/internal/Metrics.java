package dev.fairload.lb.internal;

import dev.fairload.lb.MetricsSnapshot;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** Balancer-wide counters. Lock-free on the request path; constant memory. */
final class Metrics {
    private static final String[] CLASSES = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};

    private final LongAdder total = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final LongAdder latencyNanosSum = new LongAdder();
    private final LongAdder retries = new LongAdder();
    private final LongAdder failovers = new LongAdder();
    private final LongAdder unavailable = new LongAdder();
    private final LongAdder panicPicks = new LongAdder();
    private final LongAdder ejections = new LongAdder();
    private final LongAdder overloaded = new LongAdder();
    private final LongAdder[] byClass = new LongAdder[CLASSES.length];
    private final LatencyHistogram latency = new LatencyHistogram();
    private final RateWindow rate;
    private final long startNanos;

    Metrics(long nowNanos) {
        this.startNanos = nowNanos;
        this.rate = new RateWindow(nowNanos);
        for (int i = 0; i < byClass.length; i++) {
            byClass[i] = new LongAdder();
        }
    }

    void record(int statusCode, boolean failure, long latencyNanos, long nowNanos) {
        total.increment();
        if (failure) {
            failed.increment();
        }
        int statusClass = statusCode >= 100 && statusCode < 600 ? statusCode / 100 : 0;
        byClass[statusClass].increment();
        latencyNanosSum.add(latencyNanos);
        latency.record(latencyNanos);
        rate.record(nowNanos);
    }

    void retry() {
        retries.increment();
    }

    void failover() {
        failovers.increment();
    }

    void unavailable() {
        unavailable.increment();
    }

    void panicPick() {
        panicPicks.increment();
    }

    void overloaded() {
        overloaded.increment();
    }

    void ejection() {
        ejections.increment();
    }

    MetricsSnapshot snapshot(long nowNanos, long inFlight, long sessions) {
        long count = total.sum();
        long[] counts = latency.counts();
        Map<String, Long> classes = new LinkedHashMap<>();
        for (int i = 1; i < CLASSES.length; i++) {
            classes.put(CLASSES[i], byClass[i].sum());
        }
        classes.put(CLASSES[0], byClass[0].sum());
        return new MetricsSnapshot(
                count,
                failed.sum(),
                inFlight,
                rate.perSecond(nowNanos),
                Duration.ofNanos(count == 0 ? 0 : latencyNanosSum.sum() / count),
                micros(LatencyHistogram.percentileMicros(counts, 0.50)),
                micros(LatencyHistogram.percentileMicros(counts, 0.95)),
                micros(LatencyHistogram.percentileMicros(counts, 0.99)),
                retries.sum(),
                failovers.sum(),
                unavailable.sum(),
                overloaded.sum(),
                panicPicks.sum(),
                ejections.sum(),
                sessions,
                classes,
                Duration.ofNanos(nowNanos - startNanos));
    }

    private static Duration micros(long micros) {
        return Duration.ofNanos(micros * 1_000);
    }
}
