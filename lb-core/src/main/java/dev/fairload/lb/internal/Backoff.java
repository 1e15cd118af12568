package dev.fairload.lb.internal;

import io.github.resilience4j.core.IntervalFunction;
import java.time.Duration;

/**
 * The pause before a retry: exponential from an initial pause, doubling per retry, randomized by ±50% and capped,
 * as resilience4j's {@link IntervalFunction#ofExponentialRandomBackoff} computes it (the jitter keeps the clients of
 * a failing service from retrying in step). Immutable and thread-safe; no allocation per call.
 */
public final class Backoff {
    private final IntervalFunction intervals;

    private Backoff(IntervalFunction intervals) {
        this.intervals = intervals;
    }

    /** A backoff from {@code initial} to {@code max}; null when {@code initial} is under a millisecond (none). */
    public static Backoff exponential(Duration initial, Duration max) {
        if (initial.toMillis() < 1) {
            return null;
        }
        return new Backoff(IntervalFunction.ofExponentialRandomBackoff(initial, 2.0, 0.5, max));
    }

    /** The pause before retry number {@code retry} (from 1), in milliseconds. */
    public long millis(int retry) {
        return Math.max(0, intervals.apply(retry));
    }
}
