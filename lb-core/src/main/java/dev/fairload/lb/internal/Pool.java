package dev.fairload.lb.internal;

import dev.fairload.lb.Lease;
import dev.fairload.lb.MetricsSnapshot;
import dev.fairload.lb.PickContext;
import dev.fairload.lb.Server;
import dev.fairload.lb.ServerStatus;
import dev.fairload.lb.ServerView;
import dev.fairload.lb.Ticker;
import dev.fairload.lb.event.LbEvent;
import dev.fairload.lb.event.LbEventListener;
import dev.fairload.lb.event.Subscription;
import dev.fairload.lb.health.ActiveHealthCheck;
import dev.fairload.lb.health.HealthReport;
import dev.fairload.lb.health.OutlierDetection;
import dev.fairload.lb.internal.pick.PickerFactory;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane and request path of one load balancer.
 *
 * <p>Concurrency: every change (membership, weight, drain, health, strategy) runs under one lock, off the
 * request path, and ends by publishing a new immutable {@link Snapshot} with one volatile write. A pick reads
 * that snapshot once and takes no lock. Per-server counters live in {@link ServerState}, which snapshots
 * share, so a swap never loses or double-counts a request: a lease completes against the state it was
 * picked from, even if that server has left the pool since.
 *
 * <p>Events: listeners are called in order on a serial executor, never on the request path and never while
 * the lock is held.
 *
 * <p>Health: a server's status derives from an admin drain, the active checker's verdict and a passive
 * ejection ({@link #deriveStatus}). Passive ejection follows Envoy's outlier detection: the request path
 * counts consecutive failures lock-free and, at the threshold, posts the ejection to the scheduler; the
 * control plane applies it unless it would eject more than the allowed share. When the ejection time ends,
 * or earlier once active checks have passed {@code rise} times in a row since the ejection began, the server
 * is offered to exactly one trial request (claimed with a CAS on the pick path), whose outcome brings it back
 * or ejects it again for longer. Each server's ejection state is mirrored in a resilience4j
 * circuit breaker (CLOSED in rotation, OPEN ejected, HALF_OPEN awaiting its trial).
 *
 * <p>Slow start ramps a newly healthy server's effective weight from 10% to 100% over a window, in ten
 * steps, each a snapshot. Panic mode (off by default): when fewer than the threshold's share of servers
 * are healthy, picks use every server that is not draining, as Envoy does.
 */
public final class Pool {
    /** Status code recorded for a request that got no response. */
    static final int NO_RESPONSE = -1;

    private static final Logger log = LoggerFactory.getLogger(Pool.class);

    final Ticker ticker;
    private final String name;
    private final Executor events;
    private final ScheduledExecutorService scheduler;
    private final SessionTable sessions;
    private final ActiveChecker checker;
    private final CircuitBreakerRegistry circuits;
    private final Metrics metrics;
    private final long wallOriginMillis;
    private final long tickerOrigin;
    private final List<LbEventListener> listeners = new CopyOnWriteArrayList<>();

    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, ServerState> byId = new LinkedHashMap<>(); // guarded by lock
    private final Map<String, ServerState> byAuthority = new LinkedHashMap<>(); // guarded by lock
    private PickerFactory pickerFactory; // guarded by lock
    private long generation; // guarded by lock
    private volatile ActiveHealthCheck activeHealthCheck; // written under lock
    private volatile OutlierDetection outlierDetection; // written under lock
    private Duration slowStart; // guarded by lock
    private int panicThresholdPercent; // guarded by lock
    /** Most requests in flight per server; 0 for no limit. */
    private volatile int maxInFlightPerServer;

    private String localZone; // guarded by lock
    private int zoneMinServers = DEFAULT_ZONE_MIN_SERVERS; // guarded by lock
    /** Rotates through the zone schedule; outlives snapshots so shares stay exact across swaps. */
    private final java.util.concurrent.atomic.AtomicLong zoneSequence = new java.util.concurrent.atomic.AtomicLong();

    /** Envoy's default {@code min_cluster_size}: below this many servers, zone-aware routing is off. */
    public static final int DEFAULT_ZONE_MIN_SERVERS = 6;

    private boolean rampScheduled; // guarded by lock
    private boolean panicking; // guarded by lock

    private volatile Snapshot snapshot;
    private final java.util.concurrent.ScheduledFuture<?> rateSampling;

    /** What a pool is built from. */
    public record Settings(
            String name,
            Ticker ticker,
            Executor eventExecutor,
            ScheduledExecutorService scheduler,
            PickerFactory pickerFactory,
            Duration sessionIdleTimeout,
            long maxSessions,
            ActiveHealthCheck activeHealthCheck,
            OutlierDetection outlierDetection,
            Duration slowStart,
            int panicThresholdPercent,
            int maxInFlightPerServer) {}

    public Pool(Settings settings) {
        this.name = settings.name();
        this.ticker = settings.ticker();
        this.events = new SerialExecutor(settings.eventExecutor());
        this.scheduler = settings.scheduler();
        this.pickerFactory = settings.pickerFactory();
        this.sessions = new SessionTable(settings.sessionIdleTimeout(), settings.maxSessions(), ticker);
        this.activeHealthCheck = settings.activeHealthCheck();
        this.outlierDetection = settings.outlierDetection();
        this.slowStart = settings.slowStart();
        this.panicThresholdPercent = settings.panicThresholdPercent();
        this.maxInFlightPerServer = settings.maxInFlightPerServer();
        this.checker = new ActiveChecker(this, scheduler, activeHealthCheck);
        this.circuits = CircuitBreakerRegistry.of(CircuitBreakerConfig.custom()
                // Transitions are driven by the outlier rules above, never by the breaker's own window.
                .automaticTransitionFromOpenToHalfOpenEnabled(false)
                .permittedNumberOfCallsInHalfOpenState(1)
                .build());
        this.tickerOrigin = ticker.read();
        this.wallOriginMillis = System.currentTimeMillis();
        this.metrics = new Metrics(tickerOrigin);
        this.snapshot = new Snapshot(0, new ServerState[0], new ServerState[0], null, new ServerState[0], false);
        java.util.concurrent.ScheduledFuture<?> sampling = null;
        try {
            sampling = scheduler.scheduleAtFixedRate(() -> metrics.sample(ticker.read()), 1, 1, TimeUnit.SECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // A scheduler that is already shut down: rates are then averaged since the start.
        }
        this.rateSampling = sampling;
    }

    public String name() {
        return name;
    }

    // Request path ---------------------------------------------------------------------------------------

    public Lease pick(PickContext context) {
        Snapshot current = snapshot;
        ServerState chosen;
        String sessionKey = context.sessionKey();
        boolean trial = false;
        if (current.trials.length != 0 && (chosen = claimTrial(current, context)) != null) {
            // One request probes an ejected server whose ejection time is over.
            trial = true;
        } else if (context.stickyToken() != null) {
            chosen = tokenChoice(current, context);
        } else if (sessionKey == null) {
            chosen = current.choose(context);
        } else {
            chosen = stickyChoice(current, context, sessionKey);
        }
        if (chosen == null) {
            metrics.unavailable();
            return UnavailableLease.of(current.unavailableReason(context));
        }
        int limit = maxInFlightPerServer;
        if (limit == 0) {
            chosen.acquire();
        } else if (!chosen.tryAcquire(limit)) {
            if (trial) {
                // The trial server is full of older requests: leave the trial for a later pick.
                chosen.trial.compareAndSet(ServerState.TRIAL_CLAIMED, ServerState.TRIAL_AVAILABLE);
                trial = false;
            }
            chosen = acquireBelowLimit(current, context, limit);
            if (chosen == null) {
                metrics.overloaded();
                return UnavailableLease.of(Lease.Unavailable.OVERLOADED);
            }
        }
        if (context.excludedCount() > 0) {
            metrics.retry();
        }
        if (current.panic) {
            metrics.panicPick();
        }
        return new LeaseImpl(this, chosen, ticker.read(), trial);
    }

    /** The chosen server is full: the least loaded candidate with room, acquired; null if none has room. */
    private static ServerState acquireBelowLimit(Snapshot current, PickContext context, int limit) {
        while (true) {
            ServerState best = null;
            for (ServerState s : current.candidates) {
                if (s.inFlight() < limit
                        && !context.isExcluded(s.id())
                        && (best == null || s.inFlight() < best.inFlight())) {
                    best = s;
                }
            }
            if (best == null) {
                return null;
            }
            if (best.tryAcquire(limit)) {
                return best;
            }
        }
    }

    private static ServerState claimTrial(Snapshot current, PickContext context) {
        for (ServerState s : current.trials) {
            if (!context.isExcluded(s.id())
                    && s.trial.get() == ServerState.TRIAL_AVAILABLE
                    && s.trial.compareAndSet(ServerState.TRIAL_AVAILABLE, ServerState.TRIAL_CLAIMED)) {
                return s;
            }
        }
        return null;
    }

    private ServerState tokenChoice(Snapshot current, PickContext context) {
        ServerState pinned = current.byStickyToken(context.stickyToken());
        if (pinned != null && pinned.isPickable() && !context.isExcluded(pinned.id())) {
            return pinned;
        }
        metrics.failover();
        return current.choose(context);
    }

    private ServerState stickyChoice(Snapshot current, PickContext context, String sessionKey) {
        ServerState bound = sessions.get(sessionKey);
        if (bound != null) {
            if (bound.isPickable() && !context.isExcluded(bound.id())) {
                return bound;
            }
            metrics.failover();
        }
        ServerState chosen = current.choose(context);
        if (chosen != null) {
            sessions.put(sessionKey, chosen);
        }
        return chosen;
    }

    void recordOutcome(ServerState state, boolean trial, int statusCode, long latencyNanos, long nowNanos) {
        state.release();
        boolean failure = statusCode == NO_RESPONSE || statusCode >= 500;
        int consecutive = state.record(failure, latencyNanos, nowNanos);
        metrics.record(statusCode, latencyNanos);
        if (trial && state.trial.compareAndSet(ServerState.TRIAL_CLAIMED, ServerState.NO_TRIAL)) {
            post(() -> trialFinished(state, !failure, failure ? describeStatus(statusCode) : null));
        } else if (failure) {
            OutlierDetection od = outlierDetection;
            if (od.enabled()
                    && consecutive >= od.consecutiveFailures()
                    && state.ejectionPending.compareAndSet(false, true)) {
                post(() -> eject(state, consecutive + " consecutive failures"));
            }
        }
    }

    void recordCancel(ServerState state, boolean trial) {
        state.release();
        if (trial) {
            // A cancelled trial proves nothing: offer the trial again.
            state.trial.compareAndSet(ServerState.TRIAL_CLAIMED, ServerState.TRIAL_AVAILABLE);
        }
    }

    private static String describeStatus(int statusCode) {
        return statusCode == NO_RESPONSE ? "no response" : "status " + statusCode;
    }

    private void post(Runnable task) {
        try {
            scheduler.execute(task);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // Closing: health changes no longer matter.
        }
    }

    // Sessions -------------------------------------------------------------------------------------------

    /** Binds {@code sessionKey} to the server with this id. */
    public void bindSession(String sessionKey, String serverId) {
        Objects.requireNonNull(sessionKey, "sessionKey");
        sessions.put(sessionKey, require(snapshotMember(serverId), serverId));
    }

    public void unbindSession(String sessionKey) {
        sessions.remove(Objects.requireNonNull(sessionKey, "sessionKey"));
    }

    /** The id of the server this session is bound to, or null. */
    public long sessionCount() {
        sessions.cleanUp();
        return sessions.size();
    }

    public String sessionServer(String sessionKey) {
        ServerState s = sessions.get(Objects.requireNonNull(sessionKey, "sessionKey"));
        return s == null ? null : s.id();
    }

    private ServerState snapshotMember(String serverId) {
        return snapshot.member(Objects.requireNonNull(serverId, "serverId"));
    }

    // Control plane -------------------------------------------------------------------------------------

    /** Adds the initial servers with one snapshot; their first active checks spread over at most a second. */
    public void addInitial(List<Server> servers) {
        List<ServerState> added = new ArrayList<>(servers.size());
        lock.lock();
        try {
            for (Server server : servers) {
                if (byId.containsKey(server.id()) || byAuthority.containsKey(server.authority())) {
                    throw new IllegalStateException("server: " + server + " is already in the pool");
                }
                ServerState state = newState(server);
                byId.put(server.id(), state);
                byAuthority.put(server.authority(), state);
                added.add(state);
            }
            publish();
            if (activeHealthCheck.enabled()) {
                for (ServerState state : added) {
                    checker.start(state, added.size());
                }
            }
            log.info("{}: started with {} servers", name, added.size());
        } finally {
            lock.unlock();
        }
        for (ServerState state : added) {
            emit(new LbEvent.ServerAdded(state.server()));
        }
    }

    private ServerState newState(Server server) {
        ServerState state = new ServerState(server, ServerStatus.HEALTHY);
        state.status(deriveStatus(state));
        state.circuit = circuits.circuitBreaker(server.id());
        if (state.status() == ServerStatus.HEALTHY) {
            state.healthySinceNanos = ticker.read();
        }
        return state;
    }

    /**
     * Adds a server. Throws {@link IllegalStateException} if its id or host:port is already in the pool.
     */
    public ServerView add(Server server) {
        Objects.requireNonNull(server, "server");
        ServerState state;
        lock.lock();
        try {
            if (byId.containsKey(server.id())) {
                throw new IllegalStateException("serverId: '" + server.id() + "' is already in the pool");
            }
            ServerState same = byAuthority.get(server.authority());
            if (same != null) {
                throw new IllegalStateException(
                        "host:port: " + server.authority() + " is already in the pool as " + same.id());
            }
            state = newState(server);
            byId.put(server.id(), state);
            byAuthority.put(server.authority(), state);
            publish();
            if (activeHealthCheck.enabled()) {
                checker.start(state, 0);
            }
            log.info("{}: added {} ({})", name, server, state.status().jsonName());
        } finally {
            lock.unlock();
        }
        emit(new LbEvent.ServerAdded(server));
        return view(state);
    }

    /**
     * Removes a server at once: new requests stop going to it; those in flight finish and are counted.
     * Throws {@link NoSuchElementException} for an unknown id.
     */
    public Server remove(String serverId) {
        Server removed;
        lock.lock();
        try {
            ServerState state = require(byId.get(serverId), serverId);
            byId.remove(serverId);
            byAuthority.remove(state.server().authority());
            state.pickable(false);
            checker.stop(serverId);
            circuits.remove(serverId);
            publish();
            removed = state.server();
            log.info("{}: removed {} with {} in flight", name, removed, state.inFlight());
        } finally {
            lock.unlock();
        }
        emit(new LbEvent.ServerRemoved(removed));
        return removed;
    }

    /**
     * Applies removals, then additions, then weight changes as one change: validated whole first (nothing is
     * applied if any part is refused), then published as one snapshot, whatever the number of servers. Removed
     * servers behave as with {@link #remove}: requests in flight finish, sessions bound to them fail over.
     */
    public void apply(List<String> removes, List<Server> adds, Map<String, Integer> weights) {
        List<Server> removed = new ArrayList<>(removes.size());
        List<ServerState> added = new ArrayList<>(adds.size());
        List<LbEvent> changed = new ArrayList<>();
        lock.lock();
        try {
            java.util.Set<String> goneIds = new java.util.HashSet<>();
            java.util.Set<String> goneAuthorities = new java.util.HashSet<>();
            for (String id : removes) {
                ServerState state = require(byId.get(id), id);
                if (!goneIds.add(id)) {
                    throw new IllegalArgumentException("remove: '" + id + "' appears twice");
                }
                goneAuthorities.add(state.server().authority());
            }
            java.util.Set<String> newIds = new java.util.HashSet<>();
            java.util.Set<String> newAuthorities = new java.util.HashSet<>();
            for (Server server : adds) {
                boolean idTaken = byId.containsKey(server.id()) && !goneIds.contains(server.id());
                if (idTaken || !newIds.add(server.id())) {
                    throw new IllegalStateException("serverId: '" + server.id() + "' is already in the pool");
                }
                ServerState same = byAuthority.get(server.authority());
                boolean authorityTaken = same != null && !goneAuthorities.contains(server.authority());
                if (authorityTaken || !newAuthorities.add(server.authority())) {
                    throw new IllegalStateException("host:port: " + server.authority() + " is already in the pool");
                }
            }
            for (Map.Entry<String, Integer> e : weights.entrySet()) {
                if (!newIds.contains(e.getKey())) {
                    require(goneIds.contains(e.getKey()) ? null : byId.get(e.getKey()), e.getKey());
                }
            }
            // Valid as a whole: apply.
            for (String id : removes) {
                ServerState state = byId.remove(id);
                byAuthority.remove(state.server().authority());
                state.pickable(false);
                checker.stop(id);
                circuits.remove(id);
                removed.add(state.server());
            }
            for (Server server : adds) {
                ServerState state = newState(server);
                byId.put(server.id(), state);
                byAuthority.put(server.authority(), state);
                added.add(state);
            }
            for (Map.Entry<String, Integer> e : weights.entrySet()) {
                ServerState state = byId.get(e.getKey());
                Server before = state.server();
                if (before.weight() != e.getValue()) {
                    state.server(before.withWeight(e.getValue()));
                    changed.add(new LbEvent.WeightChanged(state.server(), before.weight(), e.getValue()));
                }
            }
            if (removed.isEmpty() && added.isEmpty() && changed.isEmpty()) {
                return;
            }
            publish();
            if (activeHealthCheck.enabled()) {
                for (ServerState state : added) {
                    checker.start(state, added.size());
                }
            }
            log.info(
                    "{}: {} added, {} removed, {} reweighted in one change; {} servers",
                    name,
                    added.size(),
                    removed.size(),
                    changed.size(),
                    byId.size());
            if (log.isDebugEnabled()) {
                removed.forEach(server -> log.debug("{}: removed {}", name, server));
                added.forEach(state -> log.debug("{}: added {}", name, state.server()));
            }
        } finally {
            lock.unlock();
        }
        removed.forEach(server -> emit(new LbEvent.ServerRemoved(server)));
        added.forEach(state -> emit(new LbEvent.ServerAdded(state.server())));
        changed.forEach(this::emit);
    }

    /**
     * Drains the server, waits until its in-flight requests finish or {@code timeout} passes, then removes
     * it. The future completes with the removed server.
     */
    public CompletableFuture<Server> removeGracefully(String serverId, Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        ServerState state = stateOf(serverId);
        drain(serverId);
        CompletableFuture<Server> done = new CompletableFuture<>();
        long deadline = ticker.read() + timeout.toNanos();
        Runnable[] poll = new Runnable[1];
        poll[0] = () -> {
            if (state.inFlight() > 0 && ticker.read() - deadline < 0) {
                scheduler.schedule(poll[0], 10, TimeUnit.MILLISECONDS);
                return;
            }
            try {
                done.complete(remove(serverId));
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            }
        };
        poll[0].run();
        return done;
    }

    public ServerView setWeight(String serverId, int weight) {
        Server before;
        Server after;
        ServerState state;
        lock.lock();
        try {
            state = require(byId.get(serverId), serverId);
            before = state.server();
            after = before.withWeight(weight);
            if (after.weight() == before.weight()) {
                return view(state);
            }
            state.server(after);
            publish();
            log.info("{}: weight of {} {} -> {}", name, serverId, before.weight(), after.weight());
        } finally {
            lock.unlock();
        }
        emit(new LbEvent.WeightChanged(after, before.weight(), after.weight()));
        return view(state);
    }

    /** Puts a server into draining (or takes it out of it): no new requests, sticky ones included. */
    public ServerView setDraining(String serverId, boolean draining) {
        lock.lock();
        try {
            ServerState state = require(byId.get(serverId), serverId);
            state.draining = draining;
            updateStatus(state, draining ? "drain" : "drain ended");
            return view(state);
        } finally {
            lock.unlock();
        }
    }

    public ServerView drain(String serverId) {
        return setDraining(serverId, true);
    }

    /** Records the active checker's verdict on a server; ignored for servers no longer in the pool. */
    void activeCheckResult(String serverId, boolean up, String reason) {
        lock.lock();
        try {
            ServerState state = byId.get(serverId);
            if (state == null || !activeHealthCheck.enabled()) {
                return;
            }
            state.activeUp = up;
            if (up) {
                if (!unejectIfDue(state, "active check passed")) {
                    countPassAfterEjection(state);
                }
            } else {
                state.passesSinceEjection = 0;
            }
            updateStatus(state, reason);
        } finally {
            lock.unlock();
        }
    }

    /**
     * A passing check that changed no verdict may still end a passive ejection whose time is over, or count
     * towards the early trial ({@link #countPassAfterEjection}).
     */
    void activeCheckPassed(ServerState state) {
        if (state.ejected) {
            lock.lock();
            try {
                if (byId.get(state.id()) != state) {
                    return;
                }
                if (unejectIfDue(state, "active check passed")) {
                    updateStatus(state, "active check passed after ejection");
                } else {
                    countPassAfterEjection(state);
                }
            } finally {
                lock.unlock();
            }
        }
    }

    /** A failing check that changed no verdict: the passes counted towards an early trial start again. */
    void activeCheckFailed(ServerState state) {
        if (state.ejected) {
            lock.lock();
            try {
                state.passesSinceEjection = 0;
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * Counts a passing active check of an ejected server. Once {@code rise} checks in a row have passed since the
     * ejection began, the server is offered its trial request at once instead of at the end of the ejection time:
     * a backend restarted on the same port is back within {@code rise} check intervals (and one request), not the
     * ejection time (30 s by default). The trial, not the check, readmits it, because a health endpoint can pass
     * while real requests fail; a failed trial ejects it again for longer, as when the time runs out. Holding the
     * lock.
     */
    private void countPassAfterEjection(ServerState state) {
        if (!state.ejected || state.trial.get() != ServerState.NO_TRIAL) {
            return;
        }
        state.passesSinceEjection++;
        if (state.passesSinceEjection >= activeHealthCheck.rise()) {
            log.info(
                    "{}: {} passed {} active checks since its ejection, offering a trial request early",
                    name,
                    state.id(),
                    state.passesSinceEjection);
            offerTrial(state, state.ejectionCount);
        }
    }

    /** The first active check of a server has finished (at once when active checks are off). */
    public CompletableFuture<Void> firstCheck(String serverId) {
        ActiveChecker.Target target = checker.target(serverId);
        return target == null ? CompletableFuture.completedFuture(null) : target.firstCheck;
    }

    // Passive health ----------------------------------------------------------------------------------------

    private void eject(ServerState state, String reason) {
        lock.lock();
        try {
            state.ejectionPending.set(false);
            OutlierDetection od = outlierDetection;
            if (byId.get(state.id()) != state || state.ejected || !od.enabled()) {
                return;
            }
            int ejected = 0;
            for (ServerState s : byId.values()) {
                if (s.ejected) {
                    ejected++;
                }
            }
            int allowed = Math.max(1, byId.size() * od.maxEjectionPercent() / 100);
            if (ejected >= allowed) {
                // Start counting again, so the next run of failures asks once more.
                state.consecutiveFailures.set(0);
                log.debug("{}: not ejecting {}: {} of {} servers already ejected", name, state.id(), ejected, allowed);
                return;
            }
            long now = ticker.read();
            if (state.lastUnejectNanos != 0
                    && now - state.lastUnejectNanos > od.maxEjectionTime().toNanos()) {
                state.ejections = 0;
            }
            state.ejections++;
            Duration time = od.ejectionTime(state.ejections);
            state.ejectedUntilNanos = now + time.toNanos();
            state.ejected = true;
            state.ejectionCount++;
            state.passesSinceEjection = 0;
            state.trial.set(ServerState.NO_TRIAL);
            state.circuit.transitionToOpenState();
            metrics.ejection();
            updateStatus(
                    state,
                    reason + ", ejected for "
                            + (time.toMillis() < 1000 ? time.toMillis() + " ms" : time.toSeconds() + " s"));
            scheduleTrial(state, time, state.ejectionCount);
        } finally {
            lock.unlock();
        }
    }

    private void scheduleTrial(ServerState state, Duration after, long ejection) {
        try {
            scheduler.schedule(() -> offerScheduledTrial(state, ejection), after.toNanos(), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // Closing.
        }
    }

    private void offerScheduledTrial(ServerState state, long ejection) {
        lock.lock();
        try {
            if (byId.get(state.id()) == state && offerTrial(state, ejection)) {
                log.info("{}: {} ejection time over, waiting for a trial request", name, state.id());
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Offers one trial request to a server still in ejection number {@code ejection} whose trial is not offered
     * yet (a timer of an earlier ejection, or one whose trial came early, does nothing). Holding the lock.
     */
    private boolean offerTrial(ServerState state, long ejection) {
        if (!state.ejected || state.ejectionCount != ejection || state.trial.get() != ServerState.NO_TRIAL) {
            return false;
        }
        state.circuit.transitionToHalfOpenState();
        state.trial.set(ServerState.TRIAL_AVAILABLE);
        publish();
        return true;
    }

    private void trialFinished(ServerState state, boolean passed, String error) {
        lock.lock();
        try {
            if (byId.get(state.id()) != state || !state.ejected) {
                return;
            }
            if (passed) {
                // The trial may have come before the ejection time was over (active checks passed early).
                uneject(state, "trial request succeeded");
                updateStatus(state, "trial request succeeded");
            } else {
                state.ejected = false;
                state.consecutiveFailures.set(0);
                eject(state, "trial request failed (" + error + ")");
                if (!state.ejected) {
                    state.circuit.transitionToClosedState();
                    updateStatus(state, "trial request failed, but the ejection limit is reached");
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** Ends an ejection whose time is over. Holding the lock; the caller updates the status. */
    private boolean unejectIfDue(ServerState state, String reason) {
        if (!state.ejected || ticker.read() - state.ejectedUntilNanos < 0) {
            return false;
        }
        uneject(state, reason);
        return true;
    }

    /** Ends an ejection now. Holding the lock; the caller updates the status. */
    private void uneject(ServerState state, String reason) {
        state.ejected = false;
        state.trial.set(ServerState.NO_TRIAL);
        state.lastUnejectNanos = ticker.read();
        state.consecutiveFailures.set(0);
        state.circuit.transitionToClosedState();
        log.debug("{}: {} back from ejection ({})", name, state.id(), reason);
    }

    // Health configuration ------------------------------------------------------------------------------

    public ActiveHealthCheck activeHealthCheck() {
        return activeHealthCheck;
    }

    /** Replaces the active-check settings and applies them to every server at once. */
    public void activeHealthCheck(ActiveHealthCheck config) {
        Objects.requireNonNull(config, "activeHealthCheck");
        lock.lock();
        try {
            ActiveHealthCheck old = activeHealthCheck;
            activeHealthCheck = config;
            if (!config.enabled()) {
                for (ServerState s : byId.values()) {
                    checker.stop(s.id());
                    s.activeUp = null;
                    updateStatus(s, "active checks off");
                }
            } else if (!old.enabled()) {
                checker.reconfigure(config);
                for (ServerState s : byId.values()) {
                    checker.start(s, byId.size());
                }
            } else {
                checker.reconfigure(config);
            }
            log.info("{}: active health checks: {}", name, config);
        } finally {
            lock.unlock();
        }
    }

    public OutlierDetection outlierDetection() {
        return outlierDetection;
    }

    /** Replaces the passive-check settings; turning them off lets every ejected server back at once. */
    public void outlierDetection(OutlierDetection config) {
        Objects.requireNonNull(config, "outlierDetection");
        lock.lock();
        try {
            outlierDetection = config;
            if (!config.enabled()) {
                for (ServerState s : byId.values()) {
                    if (s.ejected) {
                        s.ejectedUntilNanos = ticker.read();
                        unejectIfDue(s, "passive checks off");
                        updateStatus(s, "passive checks off");
                    }
                }
            }
        } finally {
            lock.unlock();
        }
    }

    public Duration slowStart() {
        lock.lock();
        try {
            return slowStart;
        } finally {
            lock.unlock();
        }
    }

    /** Sets the slow-start window; zero turns slow start off. */
    public void slowStart(Duration window) {
        Objects.requireNonNull(window, "slowStart");
        if (window.isNegative()) {
            throw new IllegalArgumentException("slowStart: " + window + " (expected: >= 0)");
        }
        lock.lock();
        try {
            slowStart = window;
            publish();
        } finally {
            lock.unlock();
        }
    }

    public int maxInFlightPerServer() {
        return maxInFlightPerServer;
    }

    /** Sets the most requests in flight per server; 0 removes the limit. */
    public void maxInFlightPerServer(int limit) {
        if (limit < 0) {
            throw new IllegalArgumentException("maxInFlightPerServer: " + limit + " (expected: >= 0, 0 for no limit)");
        }
        this.maxInFlightPerServer = limit;
    }

    public int panicThreshold() {
        lock.lock();
        try {
            return panicThresholdPercent;
        } finally {
            lock.unlock();
        }
    }

    /** Sets the panic threshold in percent of healthy servers; 0 turns panic mode off. */
    public void panicThreshold(int percent) {
        if (percent < 0 || percent > 100) {
            throw new IllegalArgumentException("panicThreshold: " + percent + " (expected: 0-100)");
        }
        lock.lock();
        try {
            panicThresholdPercent = percent;
            publish();
        } finally {
            lock.unlock();
        }
    }

    public HealthReport health(String serverId) {
        ServerState s = stateOf(serverId);
        ActiveChecker.Target target = checker.target(serverId);
        long checked = s.lastHealthCheckMillis();
        lock.lock();
        try {
            return new HealthReport(
                    s.id(),
                    s.status(),
                    target != null,
                    checked == 0 ? null : Instant.ofEpochMilli(checked),
                    target == null || target.lastDurationNanos < 0 ? null : Duration.ofNanos(target.lastDurationNanos),
                    target == null ? 0 : target.successes,
                    target == null ? 0 : target.failures,
                    target == null ? null : target.lastError,
                    s.ejected,
                    s.ejections,
                    s.ejected ? wallClock(s.ejectedUntilNanos) : null,
                    s.circuit == null ? "CLOSED" : s.circuit.getState().name());
        } finally {
            lock.unlock();
        }
    }

    public void close() {
        if (rateSampling != null) {
            rateSampling.cancel(false);
        }
        checker.close();
    }

    /**
     * Sets the balancer's own zone (null for none: zone-aware routing off) and the pool size below which
     * zone-aware routing is off.
     */
    public void zoneAwareRouting(String localZone, int minServers) {
        lock.lock();
        try {
            this.localZone = localZone;
            this.zoneMinServers = minServers;
            publish();
        } finally {
            lock.unlock();
        }
    }

    public String localZone() {
        return localZone;
    }

    /** Each zone's share of picks in 1/10,000 now, or an empty map when routing is not zone-aware. */
    public Map<String, Integer> zoneShares() {
        return snapshot.zoneShares();
    }

    public void strategy(PickerFactory factory) {
        lock.lock();
        try {
            this.pickerFactory = Objects.requireNonNull(factory, "strategy");
            publish();
        } finally {
            lock.unlock();
        }
    }

    private void updateStatus(ServerState state, String reason) {
        ServerStatus from = state.status();
        ServerStatus to = deriveStatus(state);
        if (from == to) {
            return;
        }
        state.status(to);
        if (to == ServerStatus.HEALTHY) {
            state.healthySinceNanos = ticker.read();
        }
        publish();
        log.info("{}: {} {} -> {} ({})", name, state.id(), from.jsonName(), to.jsonName(), reason);
        if (to != ServerStatus.HEALTHY && snapshot.candidates.length == 0 && snapshot.members.length > 0) {
            log.warn("{}: no healthy server left among {}", name, snapshot.members.length);
        }
        emit(new LbEvent.StatusChanged(state.server(), from, to, reason));
    }

    private ServerStatus deriveStatus(ServerState state) {
        if (state.draining) {
            return ServerStatus.DRAINING;
        }
        if (state.ejected || Boolean.FALSE.equals(state.activeUp)) {
            return ServerStatus.UNHEALTHY;
        }
        if (activeHealthCheck.enabled() && state.activeUp == null) {
            return ServerStatus.UNKNOWN;
        }
        return ServerStatus.HEALTHY;
    }

    /** Builds and publishes the snapshot for the current state. Holding the lock. */
    private void publish() {
        ServerState[] members = byId.values().toArray(new ServerState[0]);
        List<ServerState> healthy = new ArrayList<>(members.length);
        List<ServerState> trials = new ArrayList<>();
        long now = ticker.read();
        boolean ramping = false;
        for (ServerState s : members) {
            boolean isHealthy = s.status() == ServerStatus.HEALTHY;
            if (isHealthy) {
                healthy.add(s);
            }
            if (s.trial.get() != ServerState.NO_TRIAL) {
                trials.add(s);
            }
            int weight = s.server().weight();
            int effective = isHealthy ? rampedWeight(weight, now - s.healthySinceNanos) : weight;
            ramping |= effective < weight;
            s.effectiveWeight(effective);
        }
        List<ServerState> candidates = healthy;
        boolean panic = panicThresholdPercent > 0
                && members.length > 0
                && healthy.size() * 100 < panicThresholdPercent * members.length;
        if (panic) {
            candidates = new ArrayList<>(members.length);
            for (ServerState s : members) {
                if (s.status() != ServerStatus.DRAINING) {
                    candidates.add(s);
                }
            }
        }
        if (panic != panicking) {
            panicking = panic;
            boolean awaitingFirstChecks = true;
            for (ServerState s : members) {
                awaitingFirstChecks &= s.status() == ServerStatus.HEALTHY || s.status() == ServerStatus.UNKNOWN;
            }
            if (panic && awaitingFirstChecks) {
                // Servers not checked yet are not known to be down: a normal start, not an alarm.
                log.info(
                        "{}: {} of {} servers checked healthy so far, balancing over all of them until the first"
                                + " checks are in",
                        name,
                        healthy.size(),
                        members.length);
            } else if (panic) {
                log.warn(
                        "{}: panic: only {} of {} servers healthy (threshold {}%), balancing over all of them",
                        name, healthy.size(), members.length, panicThresholdPercent);
            } else {
                log.info("{}: panic over: {} of {} servers healthy", name, healthy.size(), members.length);
            }
        }
        for (ServerState s : members) {
            s.pickable(false);
        }
        ServerState[] chosen = candidates.toArray(new ServerState[0]);
        int[] weights = new int[chosen.length];
        for (int i = 0; i < chosen.length; i++) {
            chosen[i].pickable(true);
            weights[i] = chosen[i].effectiveWeight();
        }
        dev.fairload.lb.internal.pick.Picker picker = null;
        if (chosen.length > 0
                && localZone != null
                && !panic
                && members.length >= zoneMinServers
                && !pickerFactory.hashing()) {
            picker = dev.fairload.lb.internal.pick.ZonePicker.build(
                    localZone, members, chosen, weights, pickerFactory, zoneSequence);
        }
        if (picker == null && chosen.length > 0) {
            picker = pickerFactory.newPicker(chosen, weights);
        }
        snapshot = new Snapshot(++generation, members, chosen, picker, trials.toArray(new ServerState[0]), panic);
        if (ramping && !rampScheduled) {
            rampScheduled = true;
            long step = Math.max(1, slowStart.toNanos() / RAMP_STEPS);
            try {
                scheduler.schedule(this::rampStep, step, TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                rampScheduled = false;
            }
        }
    }

    /** Slow start moves in this many steps, each a new snapshot. */
    static final int RAMP_STEPS = 10;

    /** 10% of the weight at first, then linearly to 100% over the slow-start window. */
    private int rampedWeight(int weight, long healthyForNanos) {
        long window = slowStart.toNanos();
        if (window <= 0 || healthyForNanos >= window) {
            return weight;
        }
        double share = 0.1 + 0.9 * Math.max(0, healthyForNanos) / window;
        return Math.max(1, (int) (weight * share));
    }

    private void rampStep() {
        lock.lock();
        try {
            rampScheduled = false;
            publish();
        } finally {
            lock.unlock();
        }
    }

    // Reading ---------------------------------------------------------------------------------------------

    public Snapshot snapshot() {
        return snapshot;
    }

    public List<ServerView> views() {
        ServerState[] members = snapshot.members;
        List<ServerView> views = new ArrayList<>(members.length);
        for (ServerState s : members) {
            views.add(view(s));
        }
        return views;
    }

    public ServerView view(String serverId) {
        return view(stateOf(serverId));
    }

    /** The state of a current member. Throws {@link NoSuchElementException} for an unknown id. */
    public ServerState stateOf(String serverId) {
        return require(snapshotMember(serverId), serverId);
    }

    public ServerView view(ServerState s) {
        long last = s.lastLatencyNanos();
        double ewma = s.ewmaNanos();
        long seen = s.lastSeenNanos();
        long checked = s.lastHealthCheckMillis();
        return new ServerView(
                s.server(),
                s.status(),
                s.effectiveWeight(),
                s.inFlight(),
                s.totalRequests(),
                s.failures(),
                last < 0 ? null : Duration.ofNanos(last),
                ewma <= 0 ? null : Duration.ofNanos((long) ewma),
                seen == 0 ? null : wallClock(seen),
                checked == 0 ? null : Instant.ofEpochMilli(checked));
    }

    /** Converts ticker time to wall-clock time. */
    public Instant wallClock(long tickerNanos) {
        return Instant.ofEpochMilli(wallOriginMillis + (tickerNanos - tickerOrigin) / 1_000_000);
    }

    public MetricsSnapshot metrics() {
        long inFlight = 0;
        for (ServerState s : snapshot.members) {
            inFlight += s.inFlight();
        }
        return metrics.snapshot(ticker.read(), inFlight, sessions.size());
    }

    // Listeners ------------------------------------------------------------------------------------------

    public Subscription addListener(LbEventListener listener) {
        Objects.requireNonNull(listener, "listener");
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    private void emit(LbEvent event) {
        // The listeners subscribed when the change happened get it, however late the delivery runs.
        List<LbEventListener> subscribed = List.copyOf(listeners);
        events.execute(() -> {
            for (LbEventListener listener : subscribed) {
                try {
                    listener.onEvent(event);
                } catch (RuntimeException e) {
                    log.warn("{}: event listener {} failed on {}", name, listener, event, e);
                }
            }
        });
    }

    private static ServerState require(ServerState state, String serverId) {
        if (state == null) {
            throw new NoSuchElementException("serverId: '" + serverId + "' (no such server)");
        }
        return state;
    }
}
