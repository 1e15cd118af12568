package dev.fairload.lb.servlet;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.event.Subscription;
import dev.fairload.lb.health.ActiveHealthCheck;
import dev.fairload.lb.health.OutlierDetection;
import dev.fairload.lb.servlet.internal.Cidr;
import dev.fairload.lb.servlet.internal.ConcurrencyLimit;
import dev.fairload.lb.servlet.internal.Forwarding;
import dev.fairload.lb.servlet.internal.UpstreamClients;
import dev.fairload.lb.servlet.internal.UpstreamTls;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLContext;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a running reverse proxy shares between its parts: the {@link LoadBalancer}, the current {@link ProxyConfig}
 * and the balanced upstream {@link OkHttpClient}. A {@link ProxyServlet} (and the admin API) are built from one
 * runtime; several servlets may share it.
 *
 * <pre>{@code
 * LoadBalancer lb = LoadBalancer.builder().addServer(Server.of("10.0.0.1", 8080)).build();
 * ProxyRuntime runtime = ProxyRuntime.builder(lb).config(ProxyConfig.builder().maxRetries(2).build()).build();
 * servletContext.addServlet("proxy", new ProxyServlet(runtime)).addMapping("/*");
 * ...
 * runtime.update(runtime.config().toBuilder().algorithm("least_connections").build()); // applied live
 * }</pre>
 *
 * <p>Live configuration: {@link #update(ProxyConfig)} swaps the configuration atomically and applies it at once:
 * the algorithm switches the balancer's strategy, the per-server limit sets the balancer's
 * {@code maxInFlightPerServer}, the retry count and upstream timeouts rebuild the balanced client (sharing its
 * connection pool and threads), the proxy-wide limit applies to the next request, and session and header settings take effect from the next
 * request, which reads the configuration once. Requests in flight finish with the settings they started with.
 * The health-check fields are held and passed to {@linkplain #addConfigListener listeners}; the proxy itself does
 * not run checks.
 *
 * <p>Thread safety: all methods are thread-safe. Reads ({@link #config()}, {@link #client()}) are one volatile
 * read. Updates are serialized; listeners run on the updating thread, after the new configuration is in force, in
 * the order they were added; a listener that throws is logged and does not undo the update.
 *
 * <p>Resources: the runtime owns the upstream client's dispatcher threads and connection pool, released by {@link
 * #close()}. It closes the balancer too only if built with {@link Builder#closeBalancer(boolean)}.
 */
public final class ProxyRuntime implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ProxyRuntime.class);

    /** Host name of upstream URLs before the balancer rewrites them to a server; never resolved. */
    public static final String UPSTREAM_HOST = "upstream.fairload.invalid";

    private final LoadBalancer lb;
    private final UpstreamClients clients;
    private final ConcurrencyLimit concurrency = new ConcurrencyLimit();
    private final boolean closeBalancer;
    private final Instant startedAt = Instant.now();
    private final CopyOnWriteArrayList<ConfigListener> configListeners = new CopyOnWriteArrayList<>();
    private final CopyOnWriteArrayList<ConfigValidator> configValidators = new CopyOnWriteArrayList<>();
    private final CopyOnWriteArrayList<ExchangeListener> exchangeListeners = new CopyOnWriteArrayList<>();
    private volatile State state;

    /** The configuration in force with what is built from it; replaced whole (one volatile write) on update. */
    private record State(UpstreamTls upstreamTls, UpstreamClients.Base base, Forwarding.Settings forwarding) {
        ProxyConfig config() {
            return forwarding.config();
        }
    }

    /** Every upstream URL starts from this one, so the logical host is canonicalized once. */
    private static final HttpUrl UPSTREAM_BASE = HttpUrl.get("http://" + UPSTREAM_HOST + "/");

    private ProxyRuntime(Builder b) {
        this.lb = b.lb;
        this.closeBalancer = b.closeBalancer;
        ProxyConfig config = b.config != null
                ? b.config
                : ProxyConfig.builder()
                        .algorithm(lb.strategy().name())
                        .maxRequestsPerServer(lb.maxInFlightPerServer())
                        .baseEjectionTime((int) Math.min(
                                3600,
                                Math.max(
                                        1,
                                        lb.outlierDetection().baseEjectionTime().toSeconds())))
                        .build();
        if (!lb.strategy().name().equals(config.algorithm())) {
            lb.strategy(config.strategy());
        }
        this.clients = new UpstreamClients(lb, UPSTREAM_HOST, b.baseClient, config.upstreamIdleTimeoutMillis());
        this.state = newState(config, null);
        if (state.upstreamTls.https()) {
            applyHealthCheckTls(null, state.upstreamTls);
        }
        lb.maxInFlightPerServer(config.maxRequestsPerServer());
        applyEjectionTime(config);
    }

    /**
     * Active health checks reach the servers the way requests do: over https when {@code upstreamTls} is on, trusting
     * what the proxy trusts (its trust bundle, or everything with {@code upstreamTlsInsecure}). A TLS context the
     * application set on the balancer itself is kept while the proxy has no trust of its own; while {@code
     * upstreamTls} stays off, the checks' scheme is left as the application set it.
     */
    private void applyHealthCheckTls(UpstreamTls previous, UpstreamTls tls) {
        ActiveHealthCheck current = lb.activeHealthCheck();
        SSLContext currentContext = current.sslContext().orElse(null);
        SSLContext previousOwn = previous == null ? null : previous.sslContext();
        SSLContext context =
                tls.sslContext() != null ? tls.sslContext() : (currentContext == previousOwn ? null : currentContext);
        boolean https = previous == null || previous.https() != tls.https() ? tls.https() : current.https();
        if (current.https() != https || currentContext != context) {
            lb.activeHealthCheck(
                    current.toBuilder().https(https).sslContext(context).build());
        }
    }

    /** Sets the balancer's base ejection time (and raises its maximum to match if needed); other settings stay. */
    private void applyEjectionTime(ProxyConfig config) {
        OutlierDetection current = lb.outlierDetection();
        Duration base = Duration.ofSeconds(config.baseEjectionTime());
        if (base.equals(current.baseEjectionTime())) {
            return;
        }
        Duration max = current.maxEjectionTime().compareTo(base) < 0 ? base : current.maxEjectionTime();
        lb.outlierDetection(
                current.toBuilder().baseEjectionTime(base).maxEjectionTime(max).build());
    }

    /** Starts a runtime over {@code lb}. */
    public static Builder builder(LoadBalancer lb) {
        return new Builder(lb);
    }

    /** The balancer requests are spread by. */
    public LoadBalancer loadBalancer() {
        return lb;
    }

    /** The configuration in force. */
    public ProxyConfig config() {
        return state.config();
    }

    /** The balanced upstream client for the configuration in force; requests go to {@code http://}{@link #UPSTREAM_HOST}. */
    public OkHttpClient client() {
        return state.forwarding.client();
    }

    /**
     * Requests the proxy is handling now (admitted under {@link ProxyConfig#maxConcurrentRequests()} and not yet
     * finished). Zero when idle: a value that stays above zero with no traffic is a leak.
     */
    public int inFlightRequests() {
        return concurrency.inFlight();
    }

    /** Requests refused at once because {@link ProxyConfig#maxConcurrentRequests()} were in flight. */
    public long refusedRequests() {
        return Integer.toUnsignedLong(concurrency.refused());
    }

    /** When this runtime was built. */
    public Instant startedAt() {
        return startedAt;
    }

    /**
     * Puts {@code config} in force and applies it live (see the class comment), then tells the listeners. An equal
     * configuration changes nothing and notifies no one. The {@linkplain #addConfigValidator validators} and the
     * upstream TLS settings (the trust bundle is read) are checked first; if one refuses, nothing changes.
     *
     * @return the previous configuration
     * @throws IllegalArgumentException naming the field if a validator refuses or the upstream trust bundle cannot
     *     be read
     */
    public ProxyConfig update(ProxyConfig config) {
        Objects.requireNonNull(config, "config");
        ProxyConfig previous;
        synchronized (this) {
            previous = state.config();
            if (previous.equals(config)) {
                return previous;
            }
            State next = newState(config, state.upstreamTls);
            for (ConfigValidator validator : configValidators) {
                validator.validate(previous, config);
            }
            if (!previous.algorithm().equals(config.algorithm())) {
                lb.strategy(config.strategy());
            }
            UpstreamTls previousTls = state.upstreamTls;
            state = next;
            clients.use(next.base);
            if (next.upstreamTls != previousTls) {
                applyHealthCheckTls(previousTls, next.upstreamTls);
            }
            if (previous.maxRequestsPerServer() != config.maxRequestsPerServer()) {
                lb.maxInFlightPerServer(config.maxRequestsPerServer());
            }
            applyEjectionTime(config);
        }
        log.info("{}: configuration updated: {}", lb.name(), changes(previous, config));
        for (ConfigListener listener : configListeners) {
            try {
                listener.onConfigChanged(previous, config);
            } catch (RuntimeException e) {
                log.warn("{}: configuration listener {} failed", lb.name(), listener, e);
            }
        }
        return previous;
    }

    /**
     * Applies a partial update by field name ({@link ProxyConfig#FIELDS}) to the configuration in force, validated
     * as a whole: either every field is applied or none.
     *
     * @return the new configuration
     * @throws IllegalArgumentException naming the first bad field; nothing changes
     */
    public ProxyConfig update(Map<String, ?> fields) {
        synchronized (this) {
            ProxyConfig next = state.config().toBuilder().setAll(fields).build();
            update(next);
            return next;
        }
    }

    /** Calls {@code listener} after each configuration change. */
    public Subscription addConfigListener(ConfigListener listener) {
        Objects.requireNonNull(listener, "listener");
        configListeners.add(listener);
        return () -> configListeners.remove(listener);
    }

    /**
     * Asks {@code validator} before each configuration change; it refuses by throwing {@link
     * IllegalArgumentException} naming the field (for example {@code "sslCertPath: ... (expected: ...)"}), and then
     * {@link #update} throws it and nothing changes. Validators run on the updating thread, under the update lock:
     * keep them short.
     */
    public Subscription addConfigValidator(ConfigValidator validator) {
        Objects.requireNonNull(validator, "validator");
        configValidators.add(validator);
        return () -> configValidators.remove(validator);
    }

    /**
     * Calls {@code listener} once for every request the proxy finished (answered, failed or abandoned by the
     * client), on the thread that finished it. Listeners run on the request path: keep them cheap and non-blocking.
     */
    public Subscription addExchangeListener(ExchangeListener listener) {
        Objects.requireNonNull(listener, "listener");
        exchangeListeners.add(listener);
        return () -> exchangeListeners.remove(listener);
    }

    /** Releases the upstream client's threads and idle connections, and the balancer if so built. */
    @Override
    public void close() {
        clients.close();
        if (closeBalancer) {
            lb.close();
        }
    }

    @Override
    public String toString() {
        return "ProxyRuntime{" + lb + ", " + state.config() + "}";
    }

    // Used by the servlet ------------------------------------------------------------------------------------

    /** The forwarding settings of the configuration in force, with its upstream client; one volatile read. */
    Forwarding.Settings forwardingSettings() {
        return state.forwarding;
    }

    /** A permit to handle one request, or null when the proxy is at its concurrency limit. */
    ConcurrencyLimit.Permit tryAdmit() {
        return concurrency.tryAcquire(state.config().maxConcurrentRequests());
    }

    boolean hasExchangeListeners() {
        return !exchangeListeners.isEmpty();
    }

    void exchangeFinished(Exchange exchange) {
        for (ExchangeListener listener : exchangeListeners) {
            try {
                listener.onExchange(exchange);
            } catch (RuntimeException e) {
                log.debug("exchange listener {} failed", listener, e);
            }
        }
    }

    private State newState(ProxyConfig config, UpstreamTls previousTls) {
        List<Cidr> ranges = config.trustedProxies().stream()
                .map(r -> Cidr.parse(r, "trustedProxies"))
                .toList();
        UpstreamTls tls = UpstreamTls.of(config, previousTls);
        UpstreamClients.Base base = clients.baseFor(config.upstreamIdleTimeoutMillis());
        OkHttpClient client = clients.client(
                base,
                config.maxRetries(),
                config.retryOnStatus(),
                config.connectTimeoutMillis(),
                config.readTimeoutMillis(),
                config.writeTimeoutMillis(),
                tls);
        client = clients.withDeadlines(client, config.requestTimeoutMillis(), config.responseHeadersTimeoutMillis());
        return new State(tls, base, new Forwarding.Settings(config, lb, client, UPSTREAM_BASE, ranges));
    }

    private static String changes(ProxyConfig previous, ProxyConfig next) {
        StringBuilder sb = new StringBuilder();
        Map<String, Object> a = previous.toMap();
        Map<String, Object> b = next.toMap();
        for (String field : ProxyConfig.FIELDS) {
            if (!Objects.equals(a.get(field), b.get(field))) {
                if (sb.length() > 0) {
                    sb.append(", ");
                }
                // Paths may be sensitive in shared logs; say that they changed, not to what.
                boolean secret = field.endsWith("Path");
                sb.append(field).append('=').append(secret ? "(changed)" : b.get(field));
            }
        }
        return sb.toString();
    }

    /** Told about configuration changes; see {@link ProxyRuntime#addConfigListener}. */
    @FunctionalInterface
    public interface ConfigListener {
        void onConfigChanged(ProxyConfig previous, ProxyConfig current);
    }

    /** Checks a configuration before it is put in force; see {@link ProxyRuntime#addConfigValidator}. */
    @FunctionalInterface
    public interface ConfigValidator {
        /** @throws IllegalArgumentException naming the field if {@code next} must not be put in force */
        void validate(ProxyConfig current, ProxyConfig next);
    }

    /** Told about finished requests; see {@link ProxyRuntime#addExchangeListener}. */
    @FunctionalInterface
    public interface ExchangeListener {
        void onExchange(Exchange exchange);
    }

    /**
     * One request the proxy finished.
     *
     * @param method the request method
     * @param path the forwarded path, without the query
     * @param serverId the server that answered, or null if none did
     * @param status the status sent to the client (the proxy's own 502, 503 or 504 when no server answered), or
     *     0 when the client went away before an answer could be sent
     * @param durationNanos time from receiving the request to finishing the answer
     * @param timestamp when the request was received
     */
    public record Exchange(
            String method, String path, String serverId, int status, long durationNanos, Instant timestamp) {}

    /** Builder for {@link ProxyRuntime}. Not thread-safe. */
    public static final class Builder {
        private final LoadBalancer lb;
        private ProxyConfig config;
        private OkHttpClient baseClient;
        private boolean closeBalancer;

        private Builder(LoadBalancer lb) {
            this.lb = Objects.requireNonNull(lb, "lb");
        }

        /**
         * The initial configuration; its algorithm and per-server limit replace the balancer's if they differ.
         * Default: the defaults, with the balancer's current strategy and per-server limit.
         */
        public Builder config(ProxyConfig config) {
            this.config = Objects.requireNonNull(config, "config");
            return this;
        }

        /**
         * A client whose settings (TLS, proxy selector, event listener, dispatcher) the upstream client starts
         * from. The runtime then forces what a transparent proxy needs: no redirects followed, no cookie jar, no
         * cache, the timeouts from the configuration and the balancing interceptor. Default: a client of its own.
         */
        public Builder baseClient(OkHttpClient client) {
            this.baseClient = Objects.requireNonNull(client, "client");
            return this;
        }

        /** Whether {@link ProxyRuntime#close()} also closes the balancer. Default false. */
        public Builder closeBalancer(boolean close) {
            this.closeBalancer = close;
            return this;
        }

        public ProxyRuntime build() {
            return new ProxyRuntime(this);
        }
    }
}
