package dev.fairload.lb;

import dev.fairload.lb.event.LbEventListener;
import dev.fairload.lb.event.Subscription;
import dev.fairload.lb.health.ActiveHealthCheck;
import dev.fairload.lb.health.HealthReport;
import dev.fairload.lb.health.OutlierDetection;
import dev.fairload.lb.internal.Pool;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Spreads requests over a pool of servers. This is what applications hold: build one with {@link #builder()},
 * call {@link #pick(PickContext)} for each request attempt and complete the returned {@link Lease} with the
 * outcome.
 *
 * <pre>{@code
 * LoadBalancer lb = LoadBalancer.builder()
 *     .addServer(Server.of("10.0.0.1", 8080))
 *     .addServer(Server.builder("10.0.0.2", 8080).weight(3).build())
 *     .strategy(Strategy.leastConnections())
 *     .build();
 * try (Lease lease = lb.pick()) {
 *     if (!lease.isAcquired()) { ... 503 ... }
 *     int status = send(lease.server());
 *     lease.complete(status);
 * }
 * }</pre>
 *
 * <p>Thread safety: every method is thread-safe. {@link #pick} takes no lock and, for {@code round_robin},
 * {@code weighted}, {@code power_of_two} and {@code ip_hash}, allocates only the lease. Changes to the pool,
 * the strategy and health are applied one at a time off the request path and published atomically.
 *
 * <p>Failure: a pick that finds no server returns a lease that is not acquired and says why; it never throws.
 * Invalid arguments throw at once with the field named.
 *
 * <p>Resources: the balancer owns one daemon scheduler thread (unless one is supplied), stopped by {@link
 * #close()}.
 */
public final class LoadBalancer implements AutoCloseable {
    private final Pool pool;
    private final ServerPool serverPool;
    private final ScheduledExecutorService scheduler;
    private final boolean ownsScheduler;
    private volatile Strategy strategy;

    private LoadBalancer(Builder b) {
        this.ownsScheduler = b.scheduler == null;
        this.scheduler = ownsScheduler ? newScheduler(b.name) : b.scheduler;
        this.strategy = b.strategy;
        this.pool = new Pool(new Pool.Settings(
                b.name,
                b.ticker,
                scheduler,
                scheduler,
                b.strategy.newPickerFactory(),
                b.sessionTimeout,
                b.maxSessions,
                b.activeHealthCheck,
                b.outlierDetection,
                b.slowStart,
                b.panicThreshold,
                b.maxInFlightPerServer));
        this.serverPool = new ServerPool(pool);
        if (b.localZone != null) {
            pool.zoneAwareRouting(b.localZone, b.zoneAwareMinServers);
        }
        pool.addInitial(b.servers);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The name given at build time, used in logs and errors. */
    public String name() {
        return pool.name();
    }

    /**
     * Picks a server for one request attempt and counts it as in flight until the lease is completed.
     *
     * <p>With a session key in the context, a request bound to a healthy server goes there; otherwise (new
     * session, or its server gone, unhealthy or draining, which counts as a failover) the strategy picks and
     * the session is bound to the result. Servers the context excludes are avoided.
     *
     * @return a lease; {@link Lease#isAcquired()} is false when no server could be picked
     */
    public Lease pick(PickContext context) {
        return pool.pick(Objects.requireNonNull(context, "context"));
    }

    /** {@link #pick(PickContext)} with an empty context. */
    public Lease pick() {
        return pool.pick(PickContext.empty());
    }

    /** The servers, to add, remove, reweight or drain them at runtime. */
    public ServerPool pool() {
        return serverPool;
    }

    /** The generation of the current snapshot: one more per published change. For tests. */
    long snapshotGeneration() {
        return pool.snapshot().generation();
    }

    /** The zone this balancer runs in, if set; see {@link Builder#localZone(String)}. */
    public java.util.Optional<String> localZone() {
        return java.util.Optional.ofNullable(pool.localZone());
    }

    /**
     * Each zone's share of new picks now, in 1/10,000 (zone name, {@code ""} for servers without a zone), or an
     * empty map when zone-aware routing is not in effect (no local zone, panic, too few servers, a hashing
     * strategy, or no healthy server in the local zone).
     */
    public java.util.Map<String, Integer> zoneShares() {
        return pool.zoneShares();
    }

    /** The current strategy. */
    public Strategy strategy() {
        return strategy;
    }

    /**
     * Switches strategy. Takes effect for the next pick; requests in flight are unaffected and counted once.
     */
    public void strategy(Strategy strategy) {
        Objects.requireNonNull(strategy, "strategy");
        synchronized (this) {
            pool.strategy(strategy.newPickerFactory());
            this.strategy = strategy;
        }
    }

    /**
     * Binds a sticky session to a server, for example when a response sets the application's session cookie.
     *
     * @throws java.util.NoSuchElementException if there is no server with this id
     */
    public void bindSession(String sessionKey, String serverId) {
        pool.bindSession(sessionKey, serverId);
    }

    /** Forgets a sticky session. */
    public void unbindSession(String sessionKey) {
        pool.unbindSession(sessionKey);
    }

    /** The id of the server a session is bound to, or null if it is not bound. */
    public String sessionServer(String sessionKey) {
        return pool.sessionServer(sessionKey);
    }

    /** What the balancer knows of a server's health. @throws java.util.NoSuchElementException for an unknown id */
    public HealthReport health(String serverId) {
        return pool.health(serverId);
    }

    /** The active health-check settings. */
    public ActiveHealthCheck activeHealthCheck() {
        return pool.activeHealthCheck();
    }

    /** Replaces the active health-check settings, applied to every server at once (each is checked again). */
    public void activeHealthCheck(ActiveHealthCheck config) {
        pool.activeHealthCheck(config);
    }

    /** The passive health-check settings. */
    public OutlierDetection outlierDetection() {
        return pool.outlierDetection();
    }

    /** Replaces the passive health-check settings; turning them off lets ejected servers back at once. */
    public void outlierDetection(OutlierDetection config) {
        pool.outlierDetection(config);
    }

    /** The slow-start window; zero when off. */
    public Duration slowStart() {
        return pool.slowStart();
    }

    /** Sets the slow-start window; zero turns it off. @throws IllegalArgumentException if negative */
    public void slowStart(Duration window) {
        pool.slowStart(window);
    }

    /** The most requests in flight per server; 0 when unlimited. */
    public int maxInFlightPerServer() {
        return pool.maxInFlightPerServer();
    }

    /** Sets the most requests in flight per server, live; 0 removes the limit. @throws IllegalArgumentException if negative */
    public void maxInFlightPerServer(int limit) {
        pool.maxInFlightPerServer(limit);
    }

    /** The panic threshold in percent; 0 when off. */
    public int panicThreshold() {
        return pool.panicThreshold();
    }

    /** Sets the panic threshold in percent of healthy servers; 0 turns it off. @throws IllegalArgumentException outside 0-100 */
    public void panicThreshold(int percent) {
        pool.panicThreshold(percent);
    }

    /** Current counters and latency percentiles. Cost: O(servers + histogram buckets). */
    public MetricsSnapshot metrics() {
        return pool.metrics();
    }

    /** Subscribes to pool events; see {@link ServerPool#addListener}. */
    public Subscription addListener(LbEventListener listener) {
        return pool.addListener(listener);
    }

    /** Stops health checks and the balancer's own threads. Leases still open may be completed afterwards. */
    @Override
    public void close() {
        pool.close();
        if (ownsScheduler) {
            scheduler.shutdownNow();
        }
    }

    @Override
    public String toString() {
        return "LoadBalancer{" + pool.name() + ", " + strategy + ", " + serverPool.size() + " servers}";
    }

    private static ScheduledExecutorService newScheduler(String name) {
        AtomicInteger count = new AtomicInteger();
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "fairload-" + name + "-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        executor.setRemoveOnCancelPolicy(true);
        return Executors.unconfigurableScheduledExecutorService(executor);
    }

    /** Builder for {@link LoadBalancer}. Not thread-safe; {@link #build()} may be called again. */
    public static final class Builder {
        /** Default idle time after which a sticky session is forgotten. */
        public static final Duration DEFAULT_SESSION_TIMEOUT = Duration.ofHours(1);
        /** Default bound on live sticky sessions. */
        public static final long DEFAULT_MAX_SESSIONS = 1_000_000;

        private String name = "default";
        private final List<Server> servers = new ArrayList<>();
        private final java.util.Map<String, Server> serverIds = new java.util.HashMap<>();
        private final java.util.Map<String, Server> serverAuthorities = new java.util.HashMap<>();
        private Strategy strategy = Strategy.roundRobin();
        private Duration sessionTimeout = DEFAULT_SESSION_TIMEOUT;
        private long maxSessions = DEFAULT_MAX_SESSIONS;
        private Ticker ticker = Ticker.system();
        private ScheduledExecutorService scheduler;
        private ActiveHealthCheck activeHealthCheck = ActiveHealthCheck.disabled();
        private OutlierDetection outlierDetection = OutlierDetection.defaults();
        private Duration slowStart = Duration.ZERO;
        private int panicThreshold;
        private int maxInFlightPerServer;
        private String localZone;
        private int zoneAwareMinServers = Pool.DEFAULT_ZONE_MIN_SERVERS;

        private Builder() {}

        /**
         * The zone this balancer runs in, which turns on zone-aware routing as Envoy does it: every request goes
         * to servers of the same {@link Server#zone() zone} while that zone has at least its share of healthy
         * capacity (its share of healthy servers is at least its share of all servers); otherwise the local zone
         * keeps the part of the traffic its healthy servers can take (healthy share / expected share) and the
         * rest spills to the other zones in proportion to their surplus of healthy servers. Off in panic mode,
         * below {@link #zoneAwareMinServers(int)} servers, with {@code ip_hash} and {@code consistent_hash}
         * (their keys must map alike everywhere), and while the local zone has no healthy server. Computed once
         * per pool change; a pick costs one more array read.
         *
         * @throws IllegalArgumentException if empty, longer than 128 characters or not printable ASCII
         */
        public Builder localZone(String zone) {
            Server.builder("localhost", 1).zone(zone); // validates
            this.localZone = zone;
            return this;
        }

        /**
         * Below this many servers in the pool, zone-aware routing is off (Envoy's {@code min_cluster_size});
         * default 6.
         *
         * @throws IllegalArgumentException if below 1
         */
        public Builder zoneAwareMinServers(int servers) {
            if (servers < 1) {
                throw new IllegalArgumentException("zoneAwareMinServers: " + servers + " (expected: >= 1)");
            }
            this.zoneAwareMinServers = servers;
            return this;
        }

        /**
         * Names the balancer (logs, metrics, errors). Default {@code default}.
         *
         * @throws IllegalArgumentException if blank
         */
        public Builder name(String name) {
            Objects.requireNonNull(name, "name");
            if (name.isBlank()) {
                throw new IllegalArgumentException("name: blank (expected: a non-empty name)");
            }
            this.name = name;
            return this;
        }

        /**
         * Adds a server to the initial pool.
         *
         * @throws IllegalArgumentException if its id or host:port is already added
         */
        public Builder addServer(Server server) {
            Objects.requireNonNull(server, "server");
            Server same = serverIds.get(server.id());
            if (same == null) {
                same = serverAuthorities.get(server.authority());
            }
            if (same != null) {
                throw new IllegalArgumentException("server: " + server + " duplicates " + same);
            }
            servers.add(server);
            serverIds.put(server.id(), server);
            serverAuthorities.put(server.authority(), server);
            return this;
        }

        /** Default {@link Strategy#roundRobin()}. */
        public Builder strategy(Strategy strategy) {
            this.strategy = Objects.requireNonNull(strategy, "strategy");
            return this;
        }

        /**
         * Idle time after which a sticky session is forgotten. Default 1 hour.
         *
         * @throws IllegalArgumentException if not positive
         */
        public Builder sessionTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "sessionTimeout");
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("sessionTimeout: " + timeout + " (expected: > 0)");
            }
            this.sessionTimeout = timeout;
            return this;
        }

        /**
         * Most sticky sessions kept at once; beyond it the least useful are evicted. Default 1,000,000.
         *
         * @throws IllegalArgumentException if below 1
         */
        public Builder maxSessions(long maxSessions) {
            if (maxSessions < 1) {
                throw new IllegalArgumentException("maxSessions: " + maxSessions + " (expected: >= 1)");
            }
            this.maxSessions = maxSessions;
            return this;
        }

        /** Time source; default {@link Ticker#system()}. */
        public Builder ticker(Ticker ticker) {
            this.ticker = Objects.requireNonNull(ticker, "ticker");
            return this;
        }

        /**
         * Scheduler for events and timers; the balancer then neither creates nor shuts down a thread of its own.
         * Default: one daemon thread owned by the balancer.
         */
        public Builder scheduler(ScheduledExecutorService scheduler) {
            this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
            return this;
        }

        /**
         * Active health checks. Default {@link ActiveHealthCheck#disabled()}: servers are healthy unless drained or
         * ejected by passive checks.
         */
        public Builder activeHealthCheck(ActiveHealthCheck config) {
            Objects.requireNonNull(config, "activeHealthCheck");
            this.activeHealthCheck = config;
            return this;
        }

        /** Passive health checks. Default {@link OutlierDetection#defaults()}. */
        public Builder outlierDetection(OutlierDetection config) {
            this.outlierDetection = Objects.requireNonNull(config, "outlierDetection");
            return this;
        }

        /**
         * Ramps a newly healthy server's weight from 10% to 100% over this window. Default zero (off). Affects the
         * weight-aware strategies ({@code weighted}, {@code least_connections}, {@code power_of_two}, {@code
         * least_response_time} and the hashing ones), not {@code round_robin} or {@code random}.
         *
         * @throws IllegalArgumentException if negative
         */
        public Builder slowStart(Duration window) {
            Objects.requireNonNull(window, "slowStart");
            if (window.isNegative()) {
                throw new IllegalArgumentException("slowStart: " + window + " (expected: >= 0)");
            }
            this.slowStart = window;
            return this;
        }

        /**
         * Below this percentage of healthy servers, picks use every server that is not draining (Envoy's panic
         * mode), counted in {@link MetricsSnapshot#panicPicks()}. Default 0 (off: with no healthy server, picks fail).
         *
         * @throws IllegalArgumentException outside 0-100
         */
        public Builder panicThreshold(int percent) {
            if (percent < 0 || percent > 100) {
                throw new IllegalArgumentException("panicThreshold: " + percent + " (expected: 0-100)");
            }
            this.panicThreshold = percent;
            return this;
        }

        /**
         * Most requests in flight per server. When the picked server is full, the least loaded one with room is
         * used; when every server is full, the pick fails with {@link Lease.Unavailable#OVERLOADED} at once (no
         * queue). Default 0: no limit.
         *
         * @throws IllegalArgumentException if negative
         */
        public Builder maxInFlightPerServer(int limit) {
            if (limit < 0) {
                throw new IllegalArgumentException(
                        "maxInFlightPerServer: " + limit + " (expected: >= 0, 0 for no limit)");
            }
            this.maxInFlightPerServer = limit;
            return this;
        }

        /** Builds and starts the balancer (its first active checks, if enabled). */
        public LoadBalancer build() {
            return new LoadBalancer(this);
        }
    }
}
