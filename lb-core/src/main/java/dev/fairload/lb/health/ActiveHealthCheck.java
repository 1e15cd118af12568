package dev.fairload.lb.health;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.SSLContext;

/**
 * Active health checking: the balancer sends {@code GET <path>} to every server on a schedule and takes a server
 * out of rotation after {@link #fall()} consecutive failures, back in after {@link #rise()} consecutive
 * successes. A server's first check decides its status at once (a new server is {@code unknown} and takes no
 * traffic until then). Servers may override the path and intervals ({@code Server.Builder.healthCheckPath},
 * {@code healthCheckInterval}, {@code healthCheckFastInterval}).
 *
 * <p>Two intervals, as HAProxy's {@code inter}/{@code fastinter} and Envoy's {@code interval}/{@code
 * unhealthy_interval}: a healthy server is checked every {@link #interval()} (30 s by default); a server that is
 * down, not yet checked, or between its first failure and {@code fall} (or its first success and {@code rise}) is
 * checked every {@link #fastInterval()} (1 s by default), so a backend that starts late or restarts is back in
 * rotation about {@code rise} seconds after it first answers, not {@code rise} intervals. A fast interval longer
 * than the interval is cut to the interval.
 *
 * <p>A check passes when the answer arrives within {@link #effectiveTimeout(Duration)} (the {@link #timeout()},
 * capped by the server's interval, as HAProxy caps its check timeout by {@code inter}), its status is within {@link
 * #expectedStatusMin()}-{@link #expectedStatusMax()} and, if set, its body contains {@link #expectedBody()}.
 * Checks are asynchronous (JDK {@code HttpClient}, HTTP/1.1): 10,000 servers at a 1 s interval need a handful
 * of threads, and a server that hangs costs only its timeout. Schedules are jittered so servers on the same
 * interval spread out.
 *
 * <p>Immutable and thread-safe; built by {@link #builder()}, which validates every value and names the field
 * in its exception.
 */
public final class ActiveHealthCheck {
    private static final ActiveHealthCheck DISABLED =
            new Builder().enabled(false).build();

    private final boolean enabled;
    private final String path;
    private final Duration interval;
    private final Duration fastInterval;
    private final Duration timeout;
    private final int expectedStatusMin;
    private final int expectedStatusMax;
    private final String expectedBody;
    private final int rise;
    private final int fall;
    private final double jitter;
    private final boolean https;
    private final SSLContext sslContext;

    private ActiveHealthCheck(Builder b) {
        this.enabled = b.enabled;
        this.path = b.path;
        this.interval = b.interval;
        this.fastInterval = b.fastInterval;
        this.timeout = b.timeout;
        this.expectedStatusMin = b.expectedStatusMin;
        this.expectedStatusMax = b.expectedStatusMax;
        this.expectedBody = b.expectedBody;
        this.rise = b.rise;
        this.fall = b.fall;
        this.jitter = b.jitter;
        this.https = b.https;
        this.sslContext = b.sslContext;
    }

    /** No active checks: servers are healthy unless drained or ejected by passive checks. The default. */
    public static ActiveHealthCheck disabled() {
        return DISABLED;
    }

    /**
     * A builder with the defaults: enabled, {@code /health}, every 30 s (every 1 s while a server is not healthy
     * or is changing state), 5 s timeout, 2xx, rise 2, fall 3.
     */
    public static Builder builder() {
        return new Builder();
    }

    public boolean enabled() {
        return enabled;
    }

    public String path() {
        return path;
    }

    /** How often a healthy server is checked. */
    public Duration interval() {
        return interval;
    }

    /**
     * How often a server is checked while it is down, unknown, or between its first failure and {@code fall}
     * (or first success and {@code rise}). A value longer than a server's interval acts as that interval.
     */
    public Duration fastInterval() {
        return fastInterval;
    }

    /** The longest a check may wait for its answer, as configured; see {@link #effectiveTimeout(Duration)}. */
    public Duration timeout() {
        return timeout;
    }

    /** The timeout in use for a server whose interval is {@code serverInterval}: the timeout, capped by it. */
    public Duration effectiveTimeout(Duration serverInterval) {
        return timeout.compareTo(serverInterval) < 0 ? timeout : serverInterval;
    }

    public int expectedStatusMin() {
        return expectedStatusMin;
    }

    public int expectedStatusMax() {
        return expectedStatusMax;
    }

    /** A substring the answer's body must contain, if any. */
    public Optional<String> expectedBody() {
        return Optional.ofNullable(expectedBody);
    }

    public int rise() {
        return rise;
    }

    public int fall() {
        return fall;
    }

    /** The share of the interval by which each check is moved earlier at random, 0-0.5. */
    public double jitter() {
        return jitter;
    }

    /** Whether checks use https. */
    public boolean https() {
        return https;
    }

    /** The TLS context for https checks, if not the JDK's default (system trust store). */
    public Optional<SSLContext> sslContext() {
        return Optional.ofNullable(sslContext);
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.enabled = enabled;
        b.path = path;
        b.interval = interval;
        b.fastInterval = fastInterval;
        b.timeout = timeout;
        b.expectedStatusMin = expectedStatusMin;
        b.expectedStatusMax = expectedStatusMax;
        b.expectedBody = expectedBody;
        b.rise = rise;
        b.fall = fall;
        b.jitter = jitter;
        b.https = https;
        b.sslContext = sslContext;
        return b;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ActiveHealthCheck other
                && enabled == other.enabled
                && path.equals(other.path)
                && interval.equals(other.interval)
                && fastInterval.equals(other.fastInterval)
                && timeout.equals(other.timeout)
                && expectedStatusMin == other.expectedStatusMin
                && expectedStatusMax == other.expectedStatusMax
                && Objects.equals(expectedBody, other.expectedBody)
                && rise == other.rise
                && fall == other.fall
                && jitter == other.jitter
                && https == other.https
                && sslContext == other.sslContext;
    }

    @Override
    public int hashCode() {
        return Objects.hash(
                enabled, path, interval, fastInterval, timeout, expectedStatusMin, expectedStatusMax, rise, fall);
    }

    @Override
    public String toString() {
        if (!enabled) {
            return "ActiveHealthCheck{disabled}";
        }
        return String.format(
                Locale.ROOT,
                "ActiveHealthCheck{%s%s every %s (%s until healthy), timeout %s, status %d-%d%s, rise %d, fall %d}",
                https ? "https " : "",
                path,
                interval,
                fastInterval.compareTo(interval) < 0 ? fastInterval : interval,
                effectiveTimeout(interval),
                expectedStatusMin,
                expectedStatusMax,
                expectedBody == null ? "" : ", body contains '" + expectedBody + "'",
                rise,
                fall);
    }

    /** Validating builder. Not thread-safe; {@link #build()} may be called again. */
    public static final class Builder {
        private boolean enabled = true;
        private String path = "/health";
        private Duration interval = Duration.ofSeconds(30);
        private Duration fastInterval = Duration.ofSeconds(1);
        private Duration timeout = Duration.ofSeconds(5);
        private int expectedStatusMin = 200;
        private int expectedStatusMax = 299;
        private String expectedBody;
        private int rise = 2;
        private int fall = 3;
        private double jitter = 0.1;
        private boolean https;
        private SSLContext sslContext;

        private Builder() {}

        /** Default true. */
        public Builder enabled(boolean enabled) {
            this.enabled = enabled;
            return this;
        }

        /** Default {@code /health}. @throws IllegalArgumentException unless it starts with '/', printable, no spaces */
        public Builder path(String path) {
            Objects.requireNonNull(path, "healthCheckPath");
            if (!path.startsWith("/") || path.length() > 2048 || path.chars().anyMatch(c -> c <= ' ' || c >= 127)) {
                throw new IllegalArgumentException("healthCheckPath: '" + path
                        + "' (expected: a path starting with '/', printable ASCII, no spaces)");
            }
            this.path = path;
            return this;
        }

        /** Default 30 s. @throws IllegalArgumentException if not positive */
        public Builder interval(Duration interval) {
            this.interval = positive("healthCheckInterval", interval);
            return this;
        }

        /**
         * How often a server that is not healthy, or is between states, is checked. Default 1 s; a value longer
         * than the interval acts as the interval.
         *
         * @throws IllegalArgumentException if not positive
         */
        public Builder fastInterval(Duration fastInterval) {
            this.fastInterval = positive("healthCheckFastInterval", fastInterval);
            return this;
        }

        /**
         * Default 5 s. A timeout longer than a server's interval is capped by that interval, so any positive
         * interval works with any timeout.
         *
         * @throws IllegalArgumentException if not positive
         */
        public Builder timeout(Duration timeout) {
            this.timeout = positive("healthCheckTimeout", timeout);
            return this;
        }

        /** Default 200-299. @throws IllegalArgumentException unless 100 <= min <= max <= 599 */
        public Builder expectedStatus(int min, int max) {
            if (min < 100 || max > 599 || min > max) {
                throw new IllegalArgumentException(
                        "expectedStatus: " + min + "-" + max + " (expected: a range within 100-599)");
            }
            this.expectedStatusMin = min;
            this.expectedStatusMax = max;
            return this;
        }

        /** A substring the body must contain; null for none (the default). */
        public Builder expectedBody(String expectedBody) {
            if (expectedBody != null && expectedBody.isEmpty()) {
                throw new IllegalArgumentException("expectedBody: empty (expected: null or a non-empty text)");
            }
            this.expectedBody = expectedBody;
            return this;
        }

        /** Consecutive successes to become healthy. Default 2. @throws IllegalArgumentException if below 1 */
        public Builder rise(int rise) {
            this.rise = atLeastOne("rise", rise);
            return this;
        }

        /** Consecutive failures to become unhealthy. Default 3. @throws IllegalArgumentException if below 1 */
        public Builder fall(int fall) {
            this.fall = atLeastOne("fall", fall);
            return this;
        }

        /** Share of the interval each check moves earlier at random. Default 0.1. @throws IllegalArgumentException outside 0-0.5 */
        public Builder jitter(double jitter) {
            if (!(jitter >= 0 && jitter <= 0.5)) {
                throw new IllegalArgumentException("jitter: " + jitter + " (expected: 0-0.5)");
            }
            this.jitter = jitter;
            return this;
        }

        /** Check over https. Default false. */
        public Builder https(boolean https) {
            this.https = https;
            return this;
        }

        /** TLS context for https checks (for a private trust store). Default: the JDK's. */
        public Builder sslContext(SSLContext sslContext) {
            this.sslContext = sslContext;
            return this;
        }

        /** Every value was validated when set: this never fails. */
        public ActiveHealthCheck build() {
            return new ActiveHealthCheck(this);
        }

        private static Duration positive(String field, Duration value) {
            Objects.requireNonNull(value, field);
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException(field + ": " + value + " (expected: > 0)");
            }
            return value;
        }

        private static int atLeastOne(String field, int value) {
            if (value < 1) {
                throw new IllegalArgumentException(field + ": " + value + " (expected: >= 1)");
            }
            return value;
        }
    }
}
