package dev.fairload.lb.internal;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A fixed-size, lock-free latency histogram with log-linear buckets (as HdrHistogram, with 16 sub-buckets per
 * power of two): percentiles are within 1/16 (about 6%) of the true value, from 1 microsecond to about 2^40
 * microseconds. Memory is constant: {@link #STRIPES} arrays of {@link #BUCKETS} counters (20 KB). Threads
 * write to the stripe of their id, so concurrent completions with similar latencies do not all contend on
 * one counter.
 */
final class LatencyHistogram {
    private static final int SUB_BITS = 4;
    private static final int SUB = 1 << SUB_BITS;
    static final int BUCKETS = (41 - SUB_BITS + 1) * SUB + SUB;

    static final int STRIPES = 4;

    private final AtomicLongArray counts = new AtomicLongArray(BUCKETS * STRIPES);

    void record(long nanos) {
        int stripe = (int) Thread.currentThread().getId() & (STRIPES - 1);
        counts.getAndIncrement(stripe * BUCKETS + bucket(Math.max(0, nanos / 1_000)));
    }

    static int bucket(long micros) {
        if (micros < SUB) {
            return (int) micros;
        }
        int power = 63 - Long.numberOfLeadingZeros(micros);
        int sub = (int) (micros >>> (power - SUB_BITS)) & (SUB - 1);
        int index = (power - SUB_BITS + 1) * SUB + sub;
        return Math.min(index, BUCKETS - 1);
    }

    /** The upper bound in microseconds of the values in {@code bucket}. */
    static long upperBoundMicros(int bucket) {
        if (bucket < SUB) {
            return bucket;
        }
        int power = bucket / SUB + SUB_BITS - 1;
        long sub = bucket % SUB;
        return ((SUB + sub + 1) << (power - SUB_BITS)) - 1;
    }

    /** Copies the counts; percentiles are computed on the copy. */
    long[] counts() {
        long[] copy = new long[BUCKETS];
        for (int i = 0; i < BUCKETS * STRIPES; i++) {
            copy[i % BUCKETS] += counts.get(i);
        }
        return copy;
    }

    /** The value in microseconds below which {@code quantile} of the recorded values fall, or 0 if empty. */
    static long percentileMicros(long[] counts, double quantile) {
        long total = 0;
        for (long c : counts) {
            total += c;
        }
        if (total == 0) {
            return 0;
        }
        long rank = (long) Math.ceil(quantile * total);
        long seen = 0;
        for (int i = 0; i < counts.length; i++) {
            seen += counts[i];
            if (seen >= rank) {
                return upperBoundMicros(i);
            }
        }
        return upperBoundMicros(counts.length - 1);
    }
}
