package dev.fairload.lb.micrometer;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.MetricsSnapshot;
import dev.fairload.lb.Server;
import dev.fairload.lb.ServerStatus;
import dev.fairload.lb.ServerView;
import dev.fairload.lb.event.LbEvent;
import dev.fairload.lb.event.Subscription;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * Publishes a {@link LoadBalancer}'s counters to Micrometer: {@code new LoadBalancerMetrics(lb).bindTo(registry)}.
 * Works for any way the balancer is used (the OkHttp interceptor, the servlet proxy, or direct picks); with the
 * Prometheus registry the names below are rendered with underscores and unit suffixes ({@code lb.requests} becomes
 * {@code lb_requests_total}). Every meter carries the tag {@code pool} (the balancer's name) and the tags given to
 * the constructor.
 *
 * <p>Balancer-wide: {@code lb.requests} (completed requests), {@code lb.requests.failed}, {@code lb.requests.active}
 * (in flight), {@code lb.responses} (tag {@code class}: {@code 1xx}-{@code 5xx} or {@code none}), {@code
 * lb.retries}, {@code lb.failovers}, {@code lb.no.server}, {@code lb.panic.picks}, {@code lb.ejections}, {@code
 * lb.sessions.active}, {@code lb.response.time} (tag {@code quantile}: {@code 0.5}, {@code 0.95}, {@code 0.99},
 * and {@code mean}), {@code lb.servers} (tag {@code status}), {@code lb.uptime}. Per server (tag {@code server}, the
 * server id): {@code lb.server.requests}, {@code lb.server.failures}, {@code lb.server.requests.active}, {@code
 * lb.server.weight} (effective weight), {@code lb.server.response.time} (smoothed), {@code lb.server.healthy} (1 or
 * 0). {@code docs/metrics.md} lists each one's meaning.
 *
 * <p>Servers added later get their meters when they join, and lose them when they leave (through a pool listener on
 * the balancer's event thread). Values are read when the registry asks: the balancer's snapshot is taken at most
 * once per {@value #SNAPSHOT_MILLIS} ms however many meters read it, so a scrape costs one {@link
 * LoadBalancer#metrics()} plus one lookup per server meter. Nothing is added to the request path.
 *
 * <p>The meters hold this binder strongly (and the balancer holds its pool listener), so {@code new
 * LoadBalancerMetrics(lb).bindTo(registry)} without keeping a reference is fine.
 *
 * <p>Thread-safe. {@link #close()} stops following the pool and removes the per-server meters (the balancer-wide
 * ones stay registered, reading the last values); it is optional when the balancer and registry end together.
 * Micrometer is an optional dependency of lb-core: only applications that use this class need it.
 */
public final class LoadBalancerMetrics implements MeterBinder, AutoCloseable {
    static final long SNAPSHOT_MILLIS = 100;

    private final LoadBalancer lb;
    private final Tags tags;
    private final Map<String, List<Meter>> serverMeters = new ConcurrentHashMap<>();
    private final List<Subscription> subscriptions = new CopyOnWriteArrayList<>();
    private volatile MeterRegistry registry;
    private volatile CachedSnapshot cached;

    private record CachedSnapshot(MetricsSnapshot snapshot, long takenAtNanos) {}

    /** Meters for {@code lb}, tagged {@code pool=<lb.name()>}. */
    public LoadBalancerMetrics(LoadBalancer lb) {
        this(lb, Tags.empty());
    }

    /** Meters for {@code lb}, tagged {@code pool=<lb.name()>} and {@code extraTags}. */
    public LoadBalancerMetrics(LoadBalancer lb, Iterable<Tag> extraTags) {
        this.lb = Objects.requireNonNull(lb, "lb");
        this.tags = Tags.of("pool", lb.name()).and(Objects.requireNonNull(extraTags, "extraTags"));
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Objects.requireNonNull(registry, "registry");
        this.registry = registry;
        counter(registry, "lb.requests", "Completed requests (with a response or a failure)", s -> s.totalRequests());
        counter(
                registry,
                "lb.requests.failed",
                "Completed requests that failed: 5xx or no response",
                s -> s.failedRequests());
        Gauge.builder("lb.requests.active", this, m -> m.snapshot().inFlight())
                .strongReference(true)
                .description("Requests picked and not yet completed")
                .tags(tags)
                .register(registry);
        for (String statusClass : List.of("1xx", "2xx", "3xx", "4xx", "5xx", "none")) {
            FunctionCounter.builder(
                            "lb.responses",
                            this,
                            m -> m.snapshot().responsesByClass().getOrDefault(statusClass, 0L))
                    .description("Completed requests by status class; none = failed without a response")
                    .tags(tags)
                    .tag("class", statusClass)
                    .register(registry);
        }
        counter(registry, "lb.retries", "Picks for a request that had already tried another server", s -> s.retries());
        counter(
                registry,
                "lb.failovers",
                "Sticky requests sent elsewhere because their server was unavailable",
                s -> s.failovers());
        counter(registry, "lb.no.server", "Picks that found no server", s -> s.noServerAvailable());
        counter(registry, "lb.panic.picks", "Picks made in panic mode", s -> s.panicPicks());
        counter(
                registry,
                "lb.overloaded",
                "Picks refused because every candidate server had its maximum of requests in flight",
                s -> s.overloaded());
        counter(registry, "lb.ejections", "Passive-health ejections", s -> s.ejections());
        Gauge.builder("lb.sessions.active", this, m -> m.snapshot().activeSessions())
                .strongReference(true)
                .description("Sticky sessions currently bound (estimate)")
                .tags(tags)
                .register(registry);
        timeGauge(registry, "0.5", s -> s.p50());
        timeGauge(registry, "0.95", s -> s.p95());
        timeGauge(registry, "0.99", s -> s.p99());
        timeGauge(registry, "mean", s -> s.averageResponseTime());
        for (ServerStatus status : ServerStatus.values()) {
            Gauge.builder("lb.servers", this, m -> countServers(status))
                    .strongReference(true)
                    .description("Servers in the pool by status")
                    .tags(tags)
                    .tag("status", status.jsonName())
                    .register(registry);
        }
        TimeGauge.builder(
                        "lb.uptime",
                        this,
                        TimeUnit.SECONDS,
                        m -> m.snapshot().uptime().toSeconds())
                .strongReference(true)
                .description("Time since the balancer was built")
                .tags(tags)
                .register(registry);

        // Subscribe first, then register what is there: a server added in between is registered twice, which
        // Micrometer treats as one meter.
        subscriptions.add(lb.pool().addListener(event -> {
            if (event instanceof LbEvent.ServerAdded added) {
                registerServer(added.server());
            } else if (event instanceof LbEvent.ServerRemoved removed) {
                removeServer(removed.server().id());
            }
        }));
        for (ServerView view : lb.pool().list()) {
            registerServer(view.server());
        }
    }

    /** Stops following the pool and removes the per-server meters. */
    @Override
    public void close() {
        for (Subscription s : subscriptions) {
            s.close();
        }
        subscriptions.clear();
        for (String id : new ArrayList<>(serverMeters.keySet())) {
            removeServer(id);
        }
    }

    private void registerServer(Server server) {
        MeterRegistry r = registry;
        String id = server.id();
        Tags serverTags = tags.and("server", id);
        List<Meter> meters = new ArrayList<>();
        meters.add(FunctionCounter.builder("lb.server.requests", this, m -> m.server(id, ServerView::totalRequests))
                .description("Completed requests on this server")
                .tags(serverTags)
                .register(r));
        meters.add(FunctionCounter.builder("lb.server.failures", this, m -> m.server(id, ServerView::failures))
                .description("Completed requests on this server that failed: 5xx or no response")
                .tags(serverTags)
                .register(r));
        meters.add(Gauge.builder("lb.server.requests.active", this, m -> m.server(id, ServerView::inFlight))
                .strongReference(true)
                .description("Requests in flight on this server")
                .tags(serverTags)
                .register(r));
        meters.add(Gauge.builder("lb.server.weight", this, m -> m.server(id, ServerView::effectiveWeight))
                .strongReference(true)
                .description("Weight strategies use now (below the configured one during slow start)")
                .tags(serverTags)
                .register(r));
        meters.add(Gauge.builder(
                        "lb.server.healthy", this, m -> m.server(id, v -> v.status() == ServerStatus.HEALTHY ? 1 : 0))
                .strongReference(true)
                .description("1 if the server takes new requests, else 0")
                .tags(serverTags)
                .register(r));
        meters.add(TimeGauge.builder(
                        "lb.server.response.time",
                        this,
                        TimeUnit.NANOSECONDS,
                        m -> m.server(id, v -> {
                            Duration d = v.averageResponseTime();
                            return d == null ? Double.NaN : d.toNanos();
                        }))
                .strongReference(true)
                .description("Smoothed (peak-EWMA) latency of this server")
                .tags(serverTags)
                .register(r));
        serverMeters.put(id, meters);
    }

    private void removeServer(String id) {
        List<Meter> meters = serverMeters.remove(id);
        MeterRegistry r = registry;
        if (meters != null && r != null) {
            for (Meter meter : meters) {
                r.remove(meter);
            }
        }
    }

    private double server(String id, ToDoubleFunction<ServerView> value) {
        return lb.pool().get(id).map(value::applyAsDouble).orElse(Double.NaN);
    }

    private double countServers(ServerStatus status) {
        int n = 0;
        for (ServerView v : lb.pool().list()) {
            if (v.status() == status) {
                n++;
            }
        }
        return n;
    }

    private void counter(MeterRegistry registry, String name, String description, ToDoubleFunction<MetricsSnapshot> f) {
        FunctionCounter.builder(name, this, m -> f.applyAsDouble(m.snapshot()))
                .description(description)
                .tags(tags)
                .register(registry);
    }

    private void timeGauge(
            MeterRegistry registry, String quantile, java.util.function.Function<MetricsSnapshot, Duration> f) {
        TimeGauge.builder("lb.response.time", this, TimeUnit.NANOSECONDS, m -> {
                    Duration d = f.apply(m.snapshot());
                    return d == null ? Double.NaN : d.toNanos();
                })
                .strongReference(true)
                .description("Latency of completed requests: percentiles since start, and the mean")
                .tags(tags)
                .tag("quantile", quantile)
                .register(registry);
    }

    /** The balancer's snapshot, reused for {@value #SNAPSHOT_MILLIS} ms so one scrape takes it once. */
    MetricsSnapshot snapshot() {
        long now = System.nanoTime();
        CachedSnapshot c = cached;
        if (c == null || now - c.takenAtNanos > TimeUnit.MILLISECONDS.toNanos(SNAPSHOT_MILLIS)) {
            c = new CachedSnapshot(lb.metrics(), now);
            cached = c;
        }
        return c.snapshot;
    }
}
