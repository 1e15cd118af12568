package dev.fairload.lb.servlet.standalone;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.ServerView;
import dev.fairload.lb.micrometer.LoadBalancerMetrics;
import dev.fairload.lb.servlet.ProxyRuntime;
import dev.fairload.lb.servlet.admin.AdminServlet;
import dev.fairload.lb.servlet.admin.internal.Access;
import dev.fairload.lb.servlet.admin.internal.MetricsServlet;
import dev.fairload.lb.servlet.tls.CertificateInfo;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin side of the standalone proxy: the {@link AdminServlet} (which restores the state file, if any, when
 * created) and Prometheus metrics at {@code /metrics} through Micrometer. On the admin listener it serves {@code
 * /api/*}, {@code /metrics}, the status page at {@code /} (and {@code /api/ui/}), and the API's JSON 404 for every
 * other path; with {@code adminOnProxyPort: true} the
 * API is also served under {@code /api/*} of the proxy port (taking those paths away from the backends).
 */
final class AdminMount implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdminMount.class);

    private final AdminServlet servlet;
    private final Access access;
    private final PrometheusMeterRegistry registry;
    private final LoadBalancerMetrics binder;
    private final CertificateExpiryGauges certificateExpiry;

    private AdminMount(
            AdminServlet servlet,
            Access access,
            PrometheusMeterRegistry registry,
            LoadBalancerMetrics binder,
            CertificateExpiryGauges certificateExpiry) {
        this.servlet = servlet;
        this.access = access;
        this.registry = registry;
        this.binder = binder;
        this.certificateExpiry = certificateExpiry;
    }

    /**
     * Creates the admin servlet, restoring the state file, and waits (up to the health-check timeout plus a second)
     * for the first health check of every server, so the proxy starts with known statuses. {@code certificates}
     * lists the TLS certificates in use, for {@code GET /api/config} and the expiry gauges; it is asked only once the
     * proxy serves, so it may read a TLS termination set up after this call.
     *
     * @throws UsageException for a corrupt or unreadable state file (left unchanged) or a bad token
     */
    static AdminMount create(ProxyRuntime runtime, Settings settings, Supplier<List<CertificateInfo>> certificates)
            throws UsageException {
        Access access;
        AdminServlet servlet;
        try {
            access = new Access(settings.adminToken);
            servlet = AdminServlet.builder(runtime)
                    .bearerToken(settings.adminToken)
                    .stateFile(settings.state)
                    .tlsCertificates(certificates)
                    .build();
        } catch (IllegalStateException e) {
            throw new UsageException("--state: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage(), e);
        }
        if (settings.adminToken == null && !isLoopback(settings.adminHost)) {
            log.warn(
                    "the admin API listens on {} without a token: set LB_ADMIN_TOKEN or adminToken",
                    settings.adminHost);
        }
        awaitFirstChecks(runtime.loadBalancer());
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        LoadBalancerMetrics binder = new LoadBalancerMetrics(runtime.loadBalancer());
        binder.bindTo(registry);
        // The proxy's own admission counters (its concurrency limit), beside the balancer's.
        Gauge.builder("fairload.proxy.requests.in.flight", runtime, ProxyRuntime::inFlightRequests)
                .description("Requests the proxy is handling now")
                .register(registry);
        FunctionCounter.builder("fairload.proxy.requests.refused", runtime, ProxyRuntime::refusedRequests)
                .description("Requests answered 503 at once because maxConcurrentRequests were in flight")
                .register(registry);
        CertificateExpiryGauges certificateExpiry = new CertificateExpiryGauges(registry, certificates);
        return new AdminMount(servlet, access, registry, binder, certificateExpiry);
    }

    /** Serves the API, {@code /metrics}, and JSON errors (404s and Jetty's own) on the admin listener. */
    void mount(org.eclipse.jetty.server.Server server, ServletContextHandler context) {
        server.setErrorHandler(JsonErrorHandler.admin());
        ServletHolder api = new ServletHolder(AdminServlet.DEFAULT_NAME, servlet);
        context.addServlet(api, "/api/*");
        context.addServlet(api, "/");
        context.setErrorHandler(JsonErrorHandler.admin());
        context.addServlet(new ServletHolder("fairload-metrics", new MetricsServlet(access, this::scrape)), "/metrics");
    }

    /** Serves the API under {@code /api/*} of the proxy's context too. */
    void mountOnProxy(ServletContextHandler context) {
        context.addServlet(new ServletHolder(AdminServlet.DEFAULT_NAME, servlet), "/api/*");
    }

    private String scrape() {
        certificateExpiry.refresh();
        return registry.scrape();
    }

    private static void awaitFirstChecks(LoadBalancer lb) {
        if (!lb.activeHealthCheck().enabled() || lb.pool().size() == 0) {
            return;
        }
        CompletableFuture<?>[] checks = lb.pool().list().stream()
                .map(ServerView::id)
                .map(id -> lb.pool().firstCheck(id))
                .toArray(CompletableFuture[]::new);
        try {
            CompletableFuture.allOf(checks)
                    .get(lb.activeHealthCheck().timeout().toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            // Starting anyway: the statuses settle with the next checks.
            log.info("not every server has finished its first health check; starting anyway");
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static boolean isLoopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (Exception e) {
            return false;
        }
    }

    @Override
    public void close() {
        binder.close();
        registry.close();
    }
}
