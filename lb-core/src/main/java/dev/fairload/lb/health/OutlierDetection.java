package dev.fairload.lb.health;

import java.time.Duration;
import java.util.Objects;

/**
 * Passive health checking (outlier detection, as Envoy's): outcomes of real requests count, and a server whose
 * last {@link #consecutiveFailures()} requests all failed (5xx or no response) is ejected from rotation.
 *
 * <p>The ejection lasts {@link #baseEjectionTime()} times the number of times the server was ejected in a row,
 * capped at {@link #maxEjectionTime()}. When it ends, exactly one trial request goes to the server (or a
 * passing active check, if active checks run): success brings it back, failure ejects it again for longer.
 * Passive checks alone never eject more than {@link #maxEjectionPercent()} of the pool at once (at least one
 * server), so a fault that hits every server does not empty the pool.
 *
 * <p>Each server's ejection state is a resilience4j circuit breaker driven by these rules: CLOSED is in
 * rotation, OPEN is ejected, HALF_OPEN is waiting for its trial request.
 *
 * <p>Immutable and thread-safe; built by {@link #builder()}, which validates every value.
 */
public final class OutlierDetection {
    private static final OutlierDetection DISABLED =
            new Builder().enabled(false).build();
    private static final OutlierDetection DEFAULTS = new Builder().build();

    private final boolean enabled;
    private final int consecutiveFailures;
    private final Duration baseEjectionTime;
    private final Duration maxEjectionTime;
    private final int maxEjectionPercent;

    private OutlierDetection(Builder b) {
        this.enabled = b.enabled;
        this.consecutiveFailures = b.consecutiveFailures;
        this.baseEjectionTime = b.baseEjectionTime;
        this.maxEjectionTime = b.maxEjectionTime;
        this.maxEjectionPercent = b.maxEjectionPercent;
    }

    /** The defaults, and what a balancer uses unless told otherwise: 5 failures, 30 s, at most 300 s, 10%. */
    public static OutlierDetection defaults() {
        return DEFAULTS;
    }

    /** No passive ejection. */
    public static OutlierDetection disabled() {
        return DISABLED;
    }

    public static Builder builder() {
        return new Builder();
    }

    public boolean enabled() {
        return enabled;
    }

    public int consecutiveFailures() {
        return consecutiveFailures;
    }

    public Duration baseEjectionTime() {
        return baseEjectionTime;
    }

    public Duration maxEjectionTime() {
        return maxEjectionTime;
    }

    public int maxEjectionPercent() {
        return maxEjectionPercent;
    }

    /** How long the {@code n}-th ejection in a row lasts. */
    public Duration ejectionTime(int n) {
        Duration d = baseEjectionTime.multipliedBy(Math.max(1, n));
        return d.compareTo(maxEjectionTime) > 0 ? maxEjectionTime : d;
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.enabled = enabled;
        b.consecutiveFailures = consecutiveFailures;
        b.baseEjectionTime = baseEjectionTime;
        b.maxEjectionTime = maxEjectionTime;
        b.maxEjectionPercent = maxEjectionPercent;
        return b;
    }

    @Override
    public String toString() {
        return enabled
                ? "OutlierDetection{" + consecutiveFailures + " failures, " + baseEjectionTime + " to "
                        + maxEjectionTime + ", max " + maxEjectionPercent + "%}"
                : "OutlierDetection{disabled}";
    }

    /** Validating builder. Not thread-safe; {@link #build()} may be called again. */
    public static final class Builder {
        private boolean enabled = true;
        private int consecutiveFailures = 5;
        private Duration baseEjectionTime = Duration.ofSeconds(30);
        private Duration maxEjectionTime = Duration.ofSeconds(300);
        private int maxEjectionPercent = 10;

        private Builder() {}

        public Builder enabled(boolean enabled) {
            this.enabled = enabled;
            return this;
        }

        /** Default 5. @throws IllegalArgumentException if below 1 */
        public Builder consecutiveFailures(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("consecutiveFailures: " + n + " (expected: >= 1)");
            }
            this.consecutiveFailures = n;
            return this;
        }

        /** Default 30 s. @throws IllegalArgumentException if not positive */
        public Builder baseEjectionTime(Duration d) {
            this.baseEjectionTime = positive("baseEjectionTime", d);
            return this;
        }

        /** Default 300 s. @throws IllegalArgumentException if not positive */
        public Builder maxEjectionTime(Duration d) {
            this.maxEjectionTime = positive("maxEjectionTime", d);
            return this;
        }

        /** Default 10. @throws IllegalArgumentException outside 0-100 */
        public Builder maxEjectionPercent(int percent) {
            if (percent < 0 || percent > 100) {
                throw new IllegalArgumentException("maxEjectionPercent: " + percent + " (expected: 0-100)");
            }
            this.maxEjectionPercent = percent;
            return this;
        }

        /** @throws IllegalArgumentException if the maximum ejection time is below the base */
        public OutlierDetection build() {
            if (maxEjectionTime.compareTo(baseEjectionTime) < 0) {
                throw new IllegalArgumentException("maxEjectionTime: " + maxEjectionTime
                        + " (expected: >= baseEjectionTime " + baseEjectionTime + ")");
            }
            return new OutlierDetection(this);
        }

        private static Duration positive(String field, Duration value) {
            Objects.requireNonNull(value, field);
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException(field + ": " + value + " (expected: > 0)");
            }
            return value;
        }
    }
}
