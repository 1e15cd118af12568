package dev.fairload.lb.internal;

import dev.fairload.lb.MetricsSnapshot;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Balancer-wide counters. Lock-free on the request path, constant memory.
 *
 * <p>Cost: a completion updates three striped counters (its status class, the latency sum and a histogram
 * bucket). Totals and failures are derived from the status classes; the request rate is sampled once a
 * second off the request path ({@link #sample}).
 */
final class Metrics {
    private static final String[] CLASSES = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
    private static final int RATE_WINDOW_SECONDS = 10;

    private final LongAdder latencyNanosSum = new LongAdder();
    private final LongAdder retries = new LongAdder();
    private final LongAdder failovers = new LongAdder();
    private final LongAdder unavailable = new LongAdder();
    private final LongAdder overloaded = new LongAdder();
    private final LongAdder panicPicks = new LongAdder();
    private final LongAdder ejections = new LongAdder();
    private final LongAdder[] byClass = new LongAdder[CLASSES.length];
    private final LatencyHistogram latency = new LatencyHistogram();
    private final long startNanos;

    /** Totals sampled once a second: a ring of the last {@link #RATE_WINDOW_SECONDS} + 1 samples. */
    private final long[] sampledTotals = new long[RATE_WINDOW_SECONDS + 1];

    private final long[] sampledAt = new long[RATE_WINDOW_SECONDS + 1];
    private int samples; // guarded by this

    Metrics(long nowNanos) {
        this.startNanos = nowNanos;
        for (int i = 0; i < byClass.length; i++) {
            byClass[i] = new LongAdder();
        }
    }

    void record(int statusCode, long latencyNanos) {
        int statusClass = statusCode >= 100 && statusCode < 600 ? statusCode / 100 : 0;
        byClass[statusClass].increment();
        latencyNanosSum.add(latencyNanos);
        latency.record(latencyNanos);
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

    void overloaded() {
        overloaded.increment();
    }

    void panicPick() {
        panicPicks.increment();
    }

    void ejection() {
        ejections.increment();
    }

    private long total() {
        long total = 0;
        for (LongAdder c : byClass) {
            total += c.sum();
        }
        return total;
    }

    /** Records the running total for the request rate; called about once a second by the scheduler. */
    synchronized void sample(long nowNanos) {
        int slot = samples % sampledTotals.length;
        sampledTotals[slot] = total();
        sampledAt[slot] = nowNanos;
        samples++;
    }

    /** Completions per second between the oldest sample of the window and now. */
    private synchronized double rate(long nowNanos, long total) {
        if (samples == 0) {
            double seconds = (nowNanos - startNanos) / 1e9;
            return seconds <= 0 ? 0 : total / seconds;
        }
        int oldest = samples <= RATE_WINDOW_SECONDS ? 0 : (samples - RATE_WINDOW_SECONDS) % sampledTotals.length;
        long fromTotal = samples <= RATE_WINDOW_SECONDS ? 0 : sampledTotals[oldest];
        long fromTime = samples <= RATE_WINDOW_SECONDS ? startNanos : sampledAt[oldest];
        double seconds = (nowNanos - fromTime) / 1e9;
        return seconds <= 0 ? 0 : (total - fromTotal) / seconds;
    }

    MetricsSnapshot snapshot(long nowNanos, long inFlight, long sessions) {
        Map<String, Long> classes = new LinkedHashMap<>();
        long total = 0;
        for (int i = 1; i < CLASSES.length; i++) {
            long n = byClass[i].sum();
            classes.put(CLASSES[i], n);
            total += n;
        }
        long none = byClass[0].sum();
        classes.put(CLASSES[0], none);
        total += none;
        long[] counts = latency.counts();
        return new MetricsSnapshot(
                total,
                none + classes.get("5xx"),
                inFlight,
                rate(nowNanos, total),
                Duration.ofNanos(total == 0 ? 0 : latencyNanosSum.sum() / total),
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
