package dev.fairload.lb.servlet.admin;

import dev.fairload.lb.Server;
import dev.fairload.lb.ServerView;
import dev.fairload.lb.event.Subscription;
import dev.fairload.lb.servlet.ProxyRuntime;
import dev.fairload.lb.servlet.admin.internal.Access;
import dev.fairload.lb.servlet.admin.internal.AdminApi;
import dev.fairload.lb.servlet.admin.internal.HealthSync;
import dev.fairload.lb.servlet.admin.internal.MetricsHistory;
import dev.fairload.lb.servlet.admin.internal.RecentRequests;
import dev.fairload.lb.servlet.admin.internal.StateFile;
import dev.fairload.lb.servlet.admin.internal.StatusPage;
import dev.fairload.lb.servlet.tls.CertificateInfo;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletRegistration;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin REST API of a {@link ProxyRuntime}: list, add, remove and reweight servers, read their health, read and
 * change the configuration and algorithm, and read metrics and the most recent requests, all live. The paths and
 * JSON shapes are in {@code docs/admin-api.md} and {@code docs/openapi.yaml}; every answer is JSON in the envelope
 * {@code {"success": true, "data": ...}} or {@code {"success": false, "error": "..."}}.
 *
 * <pre>{@code
 * AdminServlet admin = AdminServlet.builder(runtime)
 *         .bearerToken(System.getenv("LB_ADMIN_TOKEN"))   // null: no token
 *         .stateFile(Path.of("/var/lib/fairload/state.json"))
 *         .build();
 * AdminServlet.register(servletContext, admin);              // serves /api/* of that context
 * }</pre>
 *
 * <p>Mapping: it serves the paths {@code /api/...} within its servlet context, so map it to {@code /api/*} (what
 * {@link #register} does) in any context and on any connector. Mounting it next to a {@code ProxyServlet} on {@code
 * /*} takes {@code /api/*} away from the proxied application; the standalone proxy therefore serves it on a separate,
 * loopback-only port by default.
 *
 * <p>Status page: it also serves a live status page for operators at {@code /api/ui/} of its context (and at
 * {@code /} when the container gives it that path, as the standalone admin listener does): static files from the
 * jar, no token needed for them, while the data they show comes from this API with the token, which the page keeps
 * in the browser tab's session storage. See {@code docs/status-page.md}.
 *
 * <p>Security: with a bearer token, every call except {@code GET /api/health} needs {@code Authorization: Bearer
 * <token>} (compared in constant time; 401 otherwise). Changes sent by a browser from another site are refused
 * (403), bodies must be {@code application/json} (415) of at most 64 KiB (413), and no CORS headers are ever sent.
 * The token never appears in answers or logs. Without a token, anyone who can reach the port can change the pool:
 * bind it to loopback or put it behind your own authentication.
 *
 * <p>Changes take effect at once for new requests; requests in flight finish on the server they started on. With a
 * {@linkplain Builder#stateFile state file}, servers, weights and configuration accepted through the API are written
 * to it (atomically and durably) before the answer, and {@link Builder#build()} puts its content in force, so a
 * restarted process comes back as it was. A change that cannot be written is undone and answered with 500.
 *
 * <p>What it keeps: the last {@linkplain Builder#recentRequests(int) N} requests forwarded by the runtime's {@code
 * ProxyServlet}s (a lock-free ring; one atomic increment and one array write per request), and the active
 * health-check settings of the balancer in line with the configuration's {@code healthCheckEnabled}, {@code
 * healthCheckInterval}, {@code healthCheckFastInterval} and {@code healthCheckTimeout} (applied at build time and on
 * every change; the balancer's other check settings, such as the path, are kept). So building an admin servlet turns
 * on active checks ({@code GET /health}, the default configuration's) for a balancer built without them: a backend
 * that does not answer {@code /health} with 2xx takes no traffic. It logs at INFO which checks are in force.
 *
 * <p>History: the last 15 minutes of request rate, error rate and latency, one sample per second ({@code GET
 * /api/metrics/history}), and the recent pool events and failed requests ({@code GET /api/events}). One daemon
 * thread per servlet takes the samples; each proxied request costs one {@code LongAdder} increment for it.
 *
 * <p>Costs: reads are lock-free and cost O(servers); {@code POST /api/servers} waits for the new server's first
 * health check, at most the check timeout plus one second, on the calling container thread. Changes are
 * serialized.
 *
 * <p>Thread-safe. {@link #destroy()} (called by the container) stops recording requests, sampling the history and
 * following the configuration; it does not close the runtime.
 */
public final class AdminServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    private static final Logger log = LoggerFactory.getLogger(AdminServlet.class);

    /** The servlet name used by {@link #register}. */
    public static final String DEFAULT_NAME = "fairload-admin";

    private final transient AdminApi api;
    private final transient List<Subscription> subscriptions;
    private final transient StatusPage page;
    private final transient ScheduledExecutorService sampler;

    private AdminServlet(
            AdminApi api, List<Subscription> subscriptions, StatusPage page, ScheduledExecutorService sampler) {
        this.api = api;
        this.subscriptions = subscriptions;
        this.page = page;
        this.sampler = sampler;
    }

    /** Starts an admin servlet for {@code runtime}. */
    public static Builder builder(ProxyRuntime runtime) {
        return new Builder(runtime);
    }

    /**
     * Registers {@code admin} under {@code /api/*} of {@code context}.
     *
     * @throws IllegalStateException if the context is already initialized or has a servlet of that name
     */
    public static ServletRegistration.Dynamic register(ServletContext context, AdminServlet admin) {
        Objects.requireNonNull(context, "context");
        Objects.requireNonNull(admin, "admin");
        ServletRegistration.Dynamic registration = context.addServlet(DEFAULT_NAME, admin);
        if (registration == null) {
            throw new IllegalStateException("name: '" + DEFAULT_NAME + "' (expected: no servlet of that name yet)");
        }
        registration.addMapping("/api/*");
        return registration;
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String uri = request.getRequestURI();
        String contextPath = request.getContextPath();
        String path = uri.startsWith(contextPath) ? uri.substring(contextPath.length()) : uri;
        StatusPage.File file = page.serve(path, request.getMethod(), request.getHeader("If-None-Match"));
        if (file != null) {
            response.setStatus(file.status());
            file.headers().forEach(response::setHeader);
            if (!file.headers().containsKey("Content-Length")) {
                response.setContentLength(file.body().length);
            }
            response.getOutputStream().write(file.body());
            return;
        }
        AdminApi.Answer answer = api.handle(new ServletCall(request, path));
        write(response, answer);
    }

    /** Writes an answer: status, headers, JSON body, never cached. */
    static void write(HttpServletResponse response, AdminApi.Answer answer) throws IOException {
        response.setStatus(answer.status());
        for (Map.Entry<String, String> h : answer.headers().entrySet()) {
            response.setHeader(h.getKey(), h.getValue());
        }
        response.setContentType("application/json");
        response.setHeader("Cache-Control", "no-store");
        response.setHeader("X-Content-Type-Options", "nosniff");
        response.setContentLength(answer.body().length);
        response.getOutputStream().write(answer.body());
    }

    @Override
    public void destroy() {
        sampler.shutdownNow();
        for (Subscription s : subscriptions) {
            s.close();
        }
        super.destroy();
    }

    private record ServletCall(HttpServletRequest request, String path) implements AdminApi.Call {
        @Override
        public String method() {
            return request.getMethod();
        }

        @Override
        public String query() {
            return request.getQueryString();
        }

        @Override
        public String header(String name) {
            return request.getHeader(name);
        }

        @Override
        public long contentLength() {
            return request.getContentLengthLong();
        }

        @Override
        public byte[] body(int limit) throws IOException {
            try (InputStream in = request.getInputStream()) {
                return in.readNBytes(limit + 1);
            }
        }
    }

    /**
     * Builder for {@link AdminServlet}. Not thread-safe; {@link #build()} makes a new servlet each time (build one
     * per runtime: each records requests and may own a state file).
     */
    public static final class Builder {
        private final ProxyRuntime runtime;
        private String token;
        private Path stateFile;
        private int recentRequests = RecentRequests.DEFAULT_CAPACITY;
        private Supplier<List<CertificateInfo>> tlsCertificates = List::of;

        private Builder(ProxyRuntime runtime) {
            this.runtime = Objects.requireNonNull(runtime, "runtime");
        }

        /**
         * The bearer token every call except {@code GET /api/health} must carry; null (the default) for none.
         *
         * @throws IllegalArgumentException if blank or not printable ASCII without spaces (the message does not
         *     show it)
         */
        public Builder bearerToken(String token) {
            new Access(token); // validates
            this.token = token;
            return this;
        }

        /**
         * The state file changes are written to; null (the default) for none. Its directory must exist.
         *
         * @throws IllegalArgumentException if the directory does not exist
         */
        public Builder stateFile(Path file) {
            if (file != null) {
                Path dir = file.toAbsolutePath().getParent();
                if (dir == null || !Files.isDirectory(dir)) {
                    throw new IllegalArgumentException(
                            "stateFile: " + file + " (expected: a file in an existing directory)");
                }
            }
            this.stateFile = file;
            return this;
        }

        /**
         * How many of the most recent requests {@code GET /api/metrics/requests} can show. Default 1,000.
         *
         * @throws IllegalArgumentException if outside 1-100000
         */
        public Builder recentRequests(int count) {
            new RecentRequests(count); // validates
            this.recentRequests = count;
            return this;
        }

        /**
         * Where {@code GET /api/config} (and the answers of {@code PUT /api/config} and {@code PUT /api/algorithm})
         * find the TLS certificates in use, shown as {@code tlsCertificates}: one {@link CertificateInfo#toMap()}
         * each, public facts only. Asked on every such call, on the container thread, so it should be cheap,
         * thread-safe and follow rotations itself (the standalone proxy passes its TLS listener's list). Default:
         * none, for an application whose container terminates TLS; the field is then an empty array.
         */
        public Builder tlsCertificates(Supplier<List<CertificateInfo>> certificates) {
            this.tlsCertificates = Objects.requireNonNull(certificates, "certificates");
            return this;
        }

        /**
         * Builds the servlet: puts the state file's servers and configuration in force if the file exists (servers
         * it does not list are removed from the balancer), applies the configuration's health-check settings to
         * the balancer, and starts recording the runtime's requests.
         *
         * @throws IllegalStateException if the state file is corrupt (the message says so and names the file, which
         *     is left unchanged) or cannot be read, or its content cannot be applied
         * @throws IllegalArgumentException if the balancer refuses the configuration's health-check settings
         */
        public AdminServlet build() {
            StateFile file = stateFile == null ? null : new StateFile(stateFile);
            RecentRequests recent = new RecentRequests(recentRequests);
            MetricsHistory history = new MetricsHistory(runtime.loadBalancer());
            AdminApi api = new AdminApi(
                    runtime, new Access(token), file, recent, Duration.ofSeconds(1), tlsCertificates, history);
            StatusPage page = new StatusPage();
            HealthSync health = new HealthSync(runtime.loadBalancer());
            if (file != null) {
                restore(file, api, health);
            }
            health.apply(runtime.config());
            logActiveChecks(runtime.loadBalancer());
            List<Subscription> subscriptions = List.of(
                    runtime.addConfigListener(health),
                    runtime.addExchangeListener(recent),
                    runtime.addExchangeListener(history),
                    runtime.loadBalancer().addListener(history));
            ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "fairload-admin-history");
                t.setDaemon(true);
                return t;
            });
            history.sample(Instant.now().truncatedTo(ChronoUnit.MILLIS));
            sampler.scheduleAtFixedRate(
                    () -> sample(history),
                    MetricsHistory.INTERVAL_SECONDS,
                    MetricsHistory.INTERVAL_SECONDS,
                    TimeUnit.SECONDS);
            return new AdminServlet(api, subscriptions, page, sampler);
        }

        private static void sample(MetricsHistory history) {
            try {
                history.sample(Instant.now().truncatedTo(ChronoUnit.MILLIS));
            } catch (RuntimeException e) {
                log.warn("status page history: a sample failed", e);
            }
        }

        /** The admin API puts the configuration's health-check settings in force: say so, since traffic depends on it. */
        private static void logActiveChecks(dev.fairload.lb.LoadBalancer lb) {
            var check = lb.activeHealthCheck();
            if (check.enabled()) {
                log.info(
                        "{}: active health checks on (the admin API applies healthCheckEnabled): GET {} on every server"
                                + " every {} s, every {} s while one is down or not yet checked; a server that does"
                                + " not answer it with {}-{} takes no traffic. healthCheckEnabled: false turns them off",
                        lb.name(),
                        check.path(),
                        check.interval().toSeconds(),
                        check.fastInterval().compareTo(check.interval()) < 0
                                ? check.fastInterval().toSeconds()
                                : check.interval().toSeconds(),
                        check.expectedStatusMin(),
                        check.expectedStatusMax());
            } else {
                log.info("{}: active health checks off (healthCheckEnabled: false)", lb.name());
            }
        }

        private void restore(StateFile file, AdminApi api, HealthSync health) {
            StateFile.State state;
            try {
                state = file.load();
            } catch (StateFile.CorruptStateException e) {
                throw new IllegalStateException(e.getMessage(), e);
            } catch (IOException e) {
                throw new IllegalStateException("state file " + file.path() + " cannot be read: " + e, e);
            }
            if (state == null) {
                log.info("state file {} does not exist yet; it is written on the first change", file.path());
                return;
            }
            synchronized (api.changeLock()) {
                var lb = runtime.loadBalancer();
                Set<String> keep = new HashSet<>();
                for (Server s : state.servers()) {
                    keep.add(s.id());
                }
                for (ServerView v : lb.pool().list()) {
                    if (!keep.contains(v.id())) {
                        lb.pool().remove(v.id());
                    }
                }
                runtime.update(state.config());
                health.apply(state.config());
                for (Server s : state.servers()) {
                    var existing = lb.pool().get(s.id());
                    if (existing.isPresent()
                            && existing.get().server().authority().equals(s.authority())) {
                        if (existing.get().server().weight() != s.weight()) {
                            lb.pool().setWeight(s.id(), s.weight());
                        }
                    } else {
                        existing.ifPresent(v -> lb.pool().remove(v.id()));
                        lb.pool().add(s);
                    }
                }
            }
            log.info(
                    "state file {}: restored {} servers and the configuration ({})",
                    file.path(),
                    state.servers().size(),
                    state.config().algorithm());
        }
    }
}
