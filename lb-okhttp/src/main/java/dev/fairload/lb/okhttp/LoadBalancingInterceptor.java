package dev.fairload.lb.okhttp;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.PickContext;
import dev.fairload.lb.Server;
import dev.fairload.lb.exchange.ExchangeEngine;
import dev.fairload.lb.okhttp.internal.BalancedCall;
import dev.fairload.lb.okhttp.internal.CallSettings;
import dev.fairload.lb.okhttp.internal.ServiceRoute;
import java.io.IOException;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import okhttp3.HttpUrl;
import okhttp3.Interceptor;
import okhttp3.Response;

/**
 * Spreads an {@link okhttp3.OkHttpClient}'s calls to logical service names over each service's servers,
 * in-process, with no proxy hop.
 *
 * <pre>{@code
 * LoadBalancer orders = LoadBalancer.builder().name("orders")
 *     .addServer(Server.of("10.0.0.1", 8080)).addServer(Server.of("10.0.0.2", 8080)).build();
 * OkHttpClient client = new OkHttpClient.Builder()
 *     .addInterceptor(LoadBalancingInterceptor.builder().service("orders", orders).build())
 *     .build();
 * client.newCall(new Request.Builder().url("http://orders/api/items").build()).execute();
 * }</pre>
 *
 * <p>A call whose URL host is a registered service name (case-insensitive; the port is ignored) is balanced;
 * calls to any other host pass through untouched. For each attempt the interceptor picks a server, rewrites
 * the URL's scheme (if the service has one), host and port, proceeds, and reports the outcome to the balancer,
 * which feeds passive health and the latency-aware strategies. The response's {@code request().url()} names
 * the backend, and {@code response.request().tag(Server.class)} is the {@link Server} that answered.
 *
 * <p><b>Leases.</b> A server counts a call as in flight until the response body is read to the end, closed, or
 * fails, not merely until the headers arrive; also when the call is cancelled or a later interceptor throws.
 * Close every response, as OkHttp requires anyway. Responses without a body (HEAD, 1xx, 204, 304) are
 * complete at their headers. The latency reported is the time to the response headers.
 *
 * <p><b>Retries.</b> A failed attempt is retried on a server this call has not tried yet, up to {@link
 * Builder#maxRetries(int)} times:
 *
 * <ul>
 *   <li>always after a failure before the request was sent (connection refused, no route, TLS handshake, or a
 *       body never written), at once;
 *   <li>after a failure once sent, or a response whose status is in {@link Builder#retryOnStatus} (502, 503 and
 *       504 by default), only for idempotent methods ({@code GET,
 *       HEAD, OPTIONS, PUT, DELETE, TRACE}) or requests tagged {@link Retryable#YES}, after an exponential,
 *       jittered backoff;
 *   <li>never once a {@linkplain okhttp3.RequestBody#isOneShot() one-shot} or duplex body may have been
 *       written, and never for a cancelled call or an interrupted thread;
 *   <li>each retry, of any kind, only while the service's retry budget allows ({@link Builder#retryBudget}).
 * </ul>
 *
 * These are the rules of lb-core's exchange engine ({@link dev.fairload.lb.exchange.Exchange}), which the
 * interceptor drives on the caller's thread; the proxy drives the same engine.
 *
 * <p>OkHttp's own retry runs below this interceptor: with {@code retryOnConnectionFailure} on (OkHttp's default), a
 * request that fails on a reused keep-alive connection is sent again on a new one to the same server, whatever its
 * method, unless its body is one-shot. For a POST that must reach a server at most once, build the client with
 * {@code retryOnConnectionFailure(false)} (failures before sending are still retried here) or give it a one-shot
 * body.
 *
 * <p><b>Failures.</b> With no server to pick, the call fails with {@link NoServerAvailableException} naming
 * the service and the reason. When every attempt fails with an exception, the last attempt's exception is
 * thrown as it is (a {@link java.net.SocketTimeoutException} stays one), with the earlier attempts'
 * exceptions {@linkplain Throwable#getSuppressed() suppressed}. When retries end on a retryable status, that
 * response is returned.
 *
 * <p><b>Per-request hints.</b> A {@link PickContext} request tag is the base of every pick (client address,
 * hash key, session key, sticky token); the interceptor adds the servers already tried. Keys can also come
 * from headers and cookies: {@link Builder#sessionCookie}, {@link Builder#sessionHeader}, {@link
 * Builder#hashHeader}, {@link Builder#hashCookie}; a tag's keys take precedence.
 *
 * <p><b>Host and TLS.</b> By default the backend's {@code host:port} is sent as {@code Host}, as if the
 * backend had been called directly; with {@link Builder#preserveHostHeader(boolean) preserveHostHeader(true)}
 * the logical authority (for example {@code orders}) is sent instead. An explicit {@code Host} header on the
 * request is always kept. HTTPS backends use the client's normal TLS settings, and their certificates are
 * verified against the backend's host name.
 *
 * <p><b>Sizing.</b> Every backend is a separate OkHttp route. OkHttp's default {@link okhttp3.ConnectionPool}
 * keeps only 5 idle connections over all routes, so with many backends or high concurrency connections are
 * closed and reopened: give the client a pool of about (concurrent calls) idle connections, for example
 * {@code new ConnectionPool(64, 5, TimeUnit.MINUTES)}, and for {@code enqueue} raise the dispatcher's {@code
 * maxRequestsPerHost} (default 5), which limits the logical host as a whole. Consider {@code
 * followRedirects(false)}: OkHttp follows redirects below application interceptors, so a redirect to an
 * absolute backend URL is not balanced.
 *
 * <p><b>Thread safety and cost.</b> Immutable and thread-safe; share one instance across clients. A pass-through
 * call costs one hash lookup. A balanced call costs one pick (lock-free), one URL and request rebuild, and one
 * response-body wrapper; a retry additionally sleeps on the calling thread during backoff. It must be added
 * with {@link okhttp3.OkHttpClient.Builder#addInterceptor}: as a network interceptor it fails every balanced
 * call with {@link IllegalStateException}, since OkHttp forbids network interceptors to change the host or to
 * retry.
 */
public final class LoadBalancingInterceptor implements Interceptor {
    private final Map<String, ServiceRoute> routes;
    private final CallSettings settings;
    private final int maxRetries;

    private LoadBalancingInterceptor(Map<String, ServiceRoute> routes, CallSettings settings, int maxRetries) {
        this.routes = routes;
        this.settings = settings;
        this.maxRetries = maxRetries;
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public Response intercept(Chain chain) throws IOException {
        ServiceRoute route = routes.get(chain.request().url().host());
        if (route == null) {
            return chain.proceed(chain.request());
        }
        if (chain.connection() != null) {
            throw new IllegalStateException("LoadBalancingInterceptor must be added with addInterceptor(), "
                    + "not addNetworkInterceptor(): network interceptors may not change the host or retry");
        }
        return BalancedCall.execute(chain, route, settings);
    }

    /** The logical service names this interceptor balances, lower case. */
    public Set<String> services() {
        return routes.keySet();
    }

    @Override
    public String toString() {
        return "LoadBalancingInterceptor{services=" + routes.keySet() + ", maxRetries=" + maxRetries + "}";
    }

    /**
     * Builder for {@link LoadBalancingInterceptor}. Each setter validates at once and names the field and its
     * allowed range in the exception. Not thread-safe; {@link #build()} may be called again, and every
     * interceptor built gets retry budgets of its own.
     */
    public static final class Builder {
        /** Default {@link #maxRetries(int)}. */
        public static final int DEFAULT_MAX_RETRIES = ExchangeEngine.DEFAULT_MAX_RETRIES;
        /** Highest allowed {@link #maxRetries(int)}. */
        public static final int MAX_RETRIES_LIMIT = ExchangeEngine.MAX_RETRIES_LIMIT;
        /** Default share of requests that may be retried ({@link #retryBudget(double)}). */
        public static final double DEFAULT_RETRY_RATIO = ExchangeEngine.DEFAULT_RETRY_RATIO;
        /** Default retries always available to a quiet client ({@link #retryBudget(double, int)}). */
        public static final int DEFAULT_RETRY_RESERVE = ExchangeEngine.DEFAULT_RETRY_RESERVE;
        /** Default {@link #retryOnStatus(Collection)}: 502, 503 and 504. */
        public static final Set<Integer> DEFAULT_RETRY_ON_STATUS = ExchangeEngine.DEFAULT_RETRY_ON_STATUS;
        /** Default first backoff ({@link #backoff(Duration, Duration)}). */
        public static final Duration DEFAULT_INITIAL_BACKOFF = ExchangeEngine.DEFAULT_INITIAL_BACKOFF;
        /** Default longest backoff. */
        public static final Duration DEFAULT_MAX_BACKOFF = ExchangeEngine.DEFAULT_MAX_BACKOFF;

        private final Map<String, Service> services = new LinkedHashMap<>();
        /** The retry rules, validated there; each service gets an engine (and a retry budget) of its own. */
        private final ExchangeEngine.Builder engine = ExchangeEngine.builder();

        private int maxRetries = DEFAULT_MAX_RETRIES;
        private int retryReserve = DEFAULT_RETRY_RESERVE;
        private boolean preserveHostHeader;
        private String sessionHeader;
        private String sessionCookie;
        private String hashHeader;
        private String hashCookie;

        private Builder() {}

        /**
         * Balances calls to {@code http(s)://name/...} over {@code balancer}'s servers, keeping the request's
         * scheme.
         *
         * @throws IllegalArgumentException if {@code name} is not a valid host name or is already registered
         */
        public Builder service(String name, LoadBalancer balancer) {
            return addService(name, balancer, null);
        }

        /**
         * Balances calls to {@code name} over {@code balancer}'s servers, always reaching them with {@code
         * backendScheme}, for example {@code https} backends behind {@code http://orders/} URLs.
         *
         * @throws IllegalArgumentException if {@code name} is not a valid host name or is already registered, or
         *     the scheme is not {@code http} or {@code https}
         */
        public Builder service(String name, LoadBalancer balancer, String backendScheme) {
            Objects.requireNonNull(backendScheme, "backendScheme");
            String scheme = backendScheme.toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https")) {
                throw new IllegalArgumentException("backendScheme: '" + backendScheme + "' (expected: http or https)");
            }
            return addService(name, balancer, scheme);
        }

        private Builder addService(String name, LoadBalancer balancer, String scheme) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(balancer, "balancer");
            HttpUrl parsed = HttpUrl.parse("http://" + name + "/");
            if (name.isEmpty() || parsed == null || name.indexOf(':') >= 0 || name.indexOf('/') >= 0) {
                throw new IllegalArgumentException("name: '" + name + "' (expected: a host name such as orders)");
            }
            String host = parsed.host();
            if (services.containsKey(host)) {
                throw new IllegalArgumentException("name: '" + name + "' is already registered");
            }
            services.put(host, new Service(balancer, scheme));
            return this;
        }

        /**
         * Most attempts after the first for one call. Default 3; 0 disables retries.
         *
         * @throws IllegalArgumentException if outside 0-10
         */
        public Builder maxRetries(int maxRetries) {
            engine.maxRetries(maxRetries);
            this.maxRetries = maxRetries;
            return this;
        }

        /**
         * Response statuses retried on another server for idempotent methods (and requests tagged {@link
         * Retryable#YES}), like a failure after sending: after a backoff and within the retry budget. Default 502,
         * 503 and 504. Add 500 for backends whose 500 means "this instance is broken" rather than "this request
         * is"; a status not listed is returned as it is. An empty collection retries no status.
         *
         * @throws IllegalArgumentException if a status is outside 500-599
         */
        public Builder retryOnStatus(Collection<Integer> statuses) {
            engine.retryOnStatus(statuses);
            return this;
        }

        /**
         * Caps retries, of every kind, at this share of the service's calls, plus a reserve of {@value
         * #DEFAULT_RETRY_RESERVE}. Default 0.2: a service whose every server fails sees at most about 1.2 times its
         * normal traffic, not {@code 1 + maxRetries} times.
         *
         * @throws IllegalArgumentException if outside 0.0-1.0
         */
        public Builder retryBudget(double ratio) {
            return retryBudget(ratio, retryReserve);
        }

        /**
         * As {@link #retryBudget(double)}, with the number of retries a quiet client may make beyond the ratio
         * (the bucket's starting balance; it refills at {@code ratio} per call and holds at most the reserve plus
         * what 1,000 calls earn, so that a burst of failures after a healthy stretch, such as every request waiting
         * on a hung server timing out together, can be retried). Default reserve {@value #DEFAULT_RETRY_RESERVE}.
         * Over any run of n calls, retries stay at most {@code reserve + ratio * (n + 1000)}.
         *
         * @throws IllegalArgumentException if the ratio is outside 0.0-1.0 or the reserve outside 0-1000
         */
        public Builder retryBudget(double ratio, int reserve) {
            engine.retryBudget(ratio, reserve);
            this.retryReserve = reserve;
            return this;
        }

        /**
         * Pause before a retry of a request that may have been sent: exponential from {@code initial}, doubling per retry, randomized by
         * ±50% and capped at {@code max}. Default 10 ms to 1 s. {@code Duration.ZERO} as {@code initial}
         * disables backoff. The pause sleeps the calling thread; interrupting it fails the call with {@link
         * java.io.InterruptedIOException}.
         *
         * @throws IllegalArgumentException if {@code initial} is negative or {@code max} is below it
         */
        public Builder backoff(Duration initial, Duration max) {
            engine.backoff(initial, max);
            return this;
        }

        /**
         * Whether to send the logical authority (for example {@code orders}) as the {@code Host} header instead
         * of the backend's {@code host:port}. Default false. An explicit {@code Host} header on a request is kept
         * either way.
         */
        public Builder preserveHostHeader(boolean preserveHostHeader) {
            this.preserveHostHeader = preserveHostHeader;
            return this;
        }

        /** Takes the sticky-session key from this request header (used when the request has one). */
        public Builder sessionHeader(String headerName) {
            this.sessionHeader = validToken("sessionHeader", headerName);
            return this;
        }

        /**
         * Takes the sticky-session key from this cookie, and binds the session to the server whose response sets
         * the cookie (for example {@code JSESSIONID}), whatever the status, so later calls carrying it go to that
         * server while it is healthy. A response that deletes the cookie ({@code Max-Age=0}, an expired {@code
         * Expires}, an empty value) unbinds the session; a response that was retried binds nothing.
         */
        public Builder sessionCookie(String cookieName) {
            this.sessionCookie = validToken("sessionCookie", cookieName);
            engine.sessionCookie(cookieName);
            return this;
        }

        /** Takes the {@code consistent_hash} key from this request header. */
        public Builder hashHeader(String headerName) {
            this.hashHeader = validToken("hashHeader", headerName);
            return this;
        }

        /** Takes the {@code consistent_hash} key from this cookie. */
        public Builder hashCookie(String cookieName) {
            this.hashCookie = validToken("hashCookie", cookieName);
            return this;
        }

        /**
         * Builds the interceptor.
         *
         * @throws IllegalStateException if no service was registered
         */
        public LoadBalancingInterceptor build() {
            if (services.isEmpty()) {
                throw new IllegalStateException("services: none (expected: at least one service(name, balancer))");
            }
            Map<String, ServiceRoute> routes = new LinkedHashMap<>();
            services.forEach((name, service) ->
                    routes.put(name, new ServiceRoute(name, engine.build(service.balancer), service.scheme)));
            CallSettings settings =
                    new CallSettings(preserveHostHeader, sessionHeader, sessionCookie, hashHeader, hashCookie);
            return new LoadBalancingInterceptor(Map.copyOf(routes), settings, maxRetries);
        }

        private static String validToken(String field, String value) {
            Objects.requireNonNull(value, field);
            if (value.isEmpty()
                    || value.chars().anyMatch(c -> c <= ' ' || c >= 127 || "()<>@,;:\\\"/[]?={}".indexOf(c) >= 0)) {
                throw new IllegalArgumentException(field + ": '" + value + "' (expected: a header or cookie name)");
            }
            return value;
        }

        private record Service(LoadBalancer balancer, String scheme) {}
    }
}
