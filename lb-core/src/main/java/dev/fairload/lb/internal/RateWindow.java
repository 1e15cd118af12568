package dev.fairload.lb.internal;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Events per second over a sliding window of the last {@link #SECONDS} whole seconds, in constant memory:
 * one counter and one second-stamp per slot. A slot is reset by the first event of a new second; a reset
 * racing with increments may lose a few counts at the boundary, which a rate tolerates.
 */
final class RateWindow {
    static final int SECONDS = 10;

    private final AtomicLongArray counts = new AtomicLongArray(SECONDS);
    private final AtomicLongArray stamps = new AtomicLongArray(SECONDS);
    private final long originSecond;

    RateWindow(long nowNanos) {
        this.originSecond = nowNanos / 1_000_000_000L;
        for (int i = 0; i < SECONDS; i++) {
            stamps.set(i, Long.MIN_VALUE);
        }
    }

    void record(long nowNanos) {
        long second = nowNanos / 1_000_000_000L;
        int slot = (int) Math.floorMod(second, (long) SECONDS);
        long stamp = stamps.get(slot);
        if (stamp != second && stamps.compareAndSet(slot, stamp, second)) {
            counts.set(slot, 0);
        }
        counts.incrementAndGet(slot);
    }

    /** The average rate over the last whole seconds (fewer right after start). */
    double perSecond(long nowNanos) {
        long second = nowNanos / 1_000_000_000L;
        long sum = 0;
        for (int i = 0; i < SECONDS; i++) {
            long stamp = stamps.get(i);
            if (stamp < second && stamp >= second - SECONDS) {
                sum += counts.get(i);
            }
        }
        long span = Math.min(SECONDS, second - originSecond);
        return span <= 0 ? 0 : (double) sum / span;
    }
}
