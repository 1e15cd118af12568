package dev.fairload.lb.exchange;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.PickContext;
import dev.fairload.lb.Ticker;
import dev.fairload.lb.internal.Backoff;
import dev.fairload.lb.internal.RetryBudget;
import java.time.Duration;
import java.util.Collection;
import java.util.Objects;
import java.util.Set;

/**
 * The rules of one request's life with a balanced service, apart from moving bytes: which server each attempt goes
 * to, whether a failed attempt may go to another server, the retry budget, backoff, when a server's lease is
 * completed and with what outcome, and which responses bind or unbind a sticky session. An adapter (the OkHttp
 * interceptor, the proxy, or one of your own over any HTTP client) moves the bytes and tells an {@link Exchange}
 * what happened; the exchange tells it what to do next.
 *
 * <pre>{@code
 * ExchangeEngine engine = ExchangeEngine.builder().maxRetries(2).build(orders);
 * Exchange exchange = engine.newExchange("GET", PickContext.empty());
 * Exchange.Next next = exchange.start();          // SEND to exchange.server(), or FAIL: no server
 * }</pre>
 *
 * See {@link Exchange} for how an adapter drives one request.
 *
 * <p>One engine serves one service: its retry budget is shared by all the service's requests, so that a failing
 * service cannot spend another's. Immutable apart from that budget; thread-safe. {@link #newExchange} allocates
 * the exchange and nothing else.
 */
public final class ExchangeEngine {
    /** Default {@link Builder#maxRetries(int)}. */
    public static final int DEFAULT_MAX_RETRIES = 3;
    /** Highest allowed {@link Builder#maxRetries(int)}. */
    public static final int MAX_RETRIES_LIMIT = 10;
    /** Default share of requests that may be retried ({@link Builder#retryBudget(double, int)}). */
    public static final double DEFAULT_RETRY_RATIO = 0.2;
    /** Default retries always available to a quiet service ({@link Builder#retryBudget(double, int)}). */
    public static final int DEFAULT_RETRY_RESERVE = 10;
    /** Default {@link Builder#retryOnStatus(Collection)}: 502, 503 and 504. */
    public static final Set<Integer> DEFAULT_RETRY_ON_STATUS = Set.of(502, 503, 504);
    /** Default first backoff ({@link Builder#backoff(Duration, Duration)}). */
    public static final Duration DEFAULT_INITIAL_BACKOFF = Duration.ofMillis(10);
    /** Default longest backoff. */
    public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofSeconds(1);

    final LoadBalancer balancer;
    final int maxRetries;
    /** Indexed by status - 500; the statuses in {@code retryOnStatus}. */
    private final boolean[] retryOnStatus;

    final RetryBudget budget;
    /** Null when backoff is off. */
    private final Backoff backoff;

    final String sessionCookie;
    final Ticker ticker;

    private ExchangeEngine(Builder builder, LoadBalancer balancer) {
        this.balancer = balancer;
        this.maxRetries = builder.maxRetries;
        this.retryOnStatus = new boolean[100];
        for (int status : builder.retryOnStatus) {
            retryOnStatus[status - 500] = true;
        }
        this.budget = new RetryBudget(builder.retryRatio, builder.retryReserve);
        this.backoff = Backoff.exponential(builder.initialBackoff, builder.maxBackoff);
        this.sessionCookie = builder.sessionCookie;
        this.ticker = builder.ticker;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Starts the life of one request; nothing is picked until {@link Exchange#start()}. Cost: one small object.
     *
     * @param method the request method, upper case as sent ({@code GET}); it decides idempotency (RFC 9110 section
     *     9.2.2) unless the exchange is {@linkplain Exchange#retryable(boolean) marked}
     * @param context what every pick of this request may look at (client address, hash key, session key, sticky
     *     token); the exchange adds the servers it has tried
     */
    public Exchange newExchange(String method, PickContext context) {
        return new Exchange(this, Objects.requireNonNull(method, "method"), Objects.requireNonNull(context, "context"));
    }

    /** The balancer every attempt is picked from. */
    public LoadBalancer balancer() {
        return balancer;
    }

    /** Most attempts after the first for one request. */
    public int maxRetries() {
        return maxRetries;
    }

    /** The session cookie whose {@code Set-Cookie} binds and unbinds sessions, or null. */
    public String sessionCookie() {
        return sessionCookie;
    }

    /** Whole retries the service's budget allows now (for diagnostics and tests). */
    public long retryBudgetAvailable() {
        return budget.available();
    }

    boolean isRetryableStatus(int status) {
        return status >= 500 && status <= 599 && retryOnStatus[status - 500];
    }

    /** The pause before retry number {@code retry} (from 1) of a request that may have reached a server. */
    long backoffMillis(int retry) {
        return backoff == null ? 0 : backoff.millis(retry);
    }

    @Override
    public String toString() {
        return "ExchangeEngine{" + balancer.name() + ", maxRetries=" + maxRetries + ", " + budget + "}";
    }

    /**
     * Builder for {@link ExchangeEngine}. Each setter validates at once and names the field and its allowed range in
     * the exception. Not thread-safe; {@link #build(LoadBalancer)} may be called again, and each engine built gets a
     * retry budget of its own.
     */
    public static final class Builder {
        private int maxRetries = DEFAULT_MAX_RETRIES;
        private double retryRatio = DEFAULT_RETRY_RATIO;
        private int retryReserve = DEFAULT_RETRY_RESERVE;
        private Set<Integer> retryOnStatus = DEFAULT_RETRY_ON_STATUS;
        private Duration initialBackoff = DEFAULT_INITIAL_BACKOFF;
        private Duration maxBackoff = DEFAULT_MAX_BACKOFF;
        private String sessionCookie;
        private Ticker ticker = Ticker.system();

        private Builder() {}

        /**
         * Most attempts after the first for one request, of every kind: after a failure before sending, after one
         * once sent, after a retryable status, and a resend after a failure in the response body. Default 3; 0
         * disables retries.
         *
         * @throws IllegalArgumentException if outside 0-10
         */
        public Builder maxRetries(int maxRetries) {
            if (maxRetries < 0 || maxRetries > MAX_RETRIES_LIMIT) {
                throw new IllegalArgumentException(
                        "maxRetries: " + maxRetries + " (expected: 0-" + MAX_RETRIES_LIMIT + ")");
            }
            this.maxRetries = maxRetries;
            return this;
        }

        /**
         * Response statuses retried on another server for requests that may be sent again (idempotent or marked
         * retryable), after a backoff and within the retry budget. Default 502, 503 and 504. An empty collection
         * retries no status.
         *
         * @throws IllegalArgumentException if a status is outside 500-599
         */
        public Builder retryOnStatus(Collection<Integer> statuses) {
            Objects.requireNonNull(statuses, "retryOnStatus");
            for (Integer status : statuses) {
                if (status == null || status < 500 || status > 599) {
                    throw new IllegalArgumentException("retryOnStatus: " + status + " (expected: 500-599)");
                }
            }
            this.retryOnStatus = Set.copyOf(statuses);
            return this;
        }

        /**
         * Caps retries at this share of the service's requests plus a reserve: every retry of any kind spends one
         * from the budget, every request earns {@code ratio} of one. The budget starts with {@code reserve} and
         * holds at most the reserve plus what 1,000 requests earn, so that a burst of failures after a healthy
         * stretch can be retried while a service failing wholesale sees at most about {@code 1 + ratio} times its
         * traffic. Over any run of n requests retries stay at most {@code reserve + ratio * (n + 1000)}. Default
         * 0.2 and 10.
         *
         * @throws IllegalArgumentException if the ratio is outside 0.0-1.0 or the reserve outside 0-1000
         */
        public Builder retryBudget(double ratio, int reserve) {
            if (!(ratio >= 0.0 && ratio <= 1.0)) {
                throw new IllegalArgumentException("retryBudget: " + ratio + " (expected: 0.0-1.0)");
            }
            if (reserve < 0 || reserve > 1000) {
                throw new IllegalArgumentException("reserve: " + reserve + " (expected: 0-1000)");
            }
            this.retryRatio = ratio;
            this.retryReserve = reserve;
            return this;
        }

        /**
         * Pause before a retry of a request that may have reached a server (not before one that provably did not):
         * exponential from {@code initial}, doubling per retry, randomized by ±50% and capped at {@code max}.
         * Default 10 ms to 1 s; {@code Duration.ZERO} as {@code initial} disables backoff. The engine only computes
         * the pause ({@link Exchange#retryDelayMillis()}); the adapter waits it out.
         *
         * @throws IllegalArgumentException if {@code initial} is negative or {@code max} is below it
         */
        public Builder backoff(Duration initial, Duration max) {
            Objects.requireNonNull(initial, "initial");
            Objects.requireNonNull(max, "max");
            if (initial.isNegative()) {
                throw new IllegalArgumentException("initial: " + initial + " (expected: >= 0)");
            }
            if (max.compareTo(initial) < 0) {
                throw new IllegalArgumentException("max: " + max + " (expected: >= initial " + initial + ")");
            }
            this.initialBackoff = initial;
            this.maxBackoff = max;
            return this;
        }

        /**
         * The application's session cookie (for example {@code JSESSIONID}): a delivered response that sets it binds
         * the session to the server that answered, one that deletes it unbinds the session. See {@link
         * Exchange#onSetCookie(String)} for the rules. Default none.
         *
         * @throws IllegalArgumentException if the name is not a valid cookie name
         */
        public Builder sessionCookie(String name) {
            Objects.requireNonNull(name, "sessionCookie");
            if (name.isEmpty()
                    || name.chars().anyMatch(c -> c <= ' ' || c >= 127 || "()<>@,;:\\\"/[]?={}".indexOf(c) >= 0)) {
                throw new IllegalArgumentException("sessionCookie: '" + name + "' (expected: a cookie name)");
            }
            this.sessionCookie = name;
            return this;
        }

        /** The clock response latency is measured with. Default {@link Ticker#system()}. */
        public Builder ticker(Ticker ticker) {
            this.ticker = Objects.requireNonNull(ticker, "ticker");
            return this;
        }

        /** An engine for the service {@code balancer} balances, with a retry budget of its own. */
        public ExchangeEngine build(LoadBalancer balancer) {
            return new ExchangeEngine(this, Objects.requireNonNull(balancer, "balancer"));
        }
    }
}
