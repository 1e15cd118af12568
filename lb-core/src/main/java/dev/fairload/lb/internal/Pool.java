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
import dev.fairload.lb.internal.pick.PickerFactory;
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
 */
public final class Pool {
    /** Status code recorded for a request that got no response. */
    static final int NO_RESPONSE = -1;

    private static final Logger log = LoggerFactory.getLogger(Pool.class);

    final Ticker ticker;
    private final String name;
    private final Executor events;
    private final ScheduledExecutorService scheduler;
    private final boolean activeChecks;
    private final SessionTable sessions;
    private final Metrics metrics;
    private final long wallOriginMillis;
    private final long tickerOrigin;
    private final List<LbEventListener> listeners = new CopyOnWriteArrayList<>();
    private final List<OutcomeObserver> observers = new CopyOnWriteArrayList<>();

    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, ServerState> byId = new LinkedHashMap<>(); // guarded by lock
    private final Map<String, ServerState> byAuthority = new LinkedHashMap<>(); // guarded by lock
    private PickerFactory pickerFactory; // guarded by lock
    private long generation; // guarded by lock

    private volatile Snapshot snapshot;

    /** Sees every completed request; used by passive health. Runs on the request path: must be cheap. */
    public interface OutcomeObserver {
        void onOutcome(ServerState server, int statusCode, boolean failure, int consecutiveFailures);
    }

    public Pool(
            String name,
            Ticker ticker,
            Executor eventExecutor,
            ScheduledExecutorService scheduler,
            PickerFactory pickerFactory,
            boolean activeChecks,
            Duration sessionIdleTimeout,
            long maxSessions) {
        this.name = name;
        this.ticker = ticker;
        this.events = new SerialExecutor(eventExecutor);
        this.scheduler = scheduler;
        this.pickerFactory = pickerFactory;
        this.activeChecks = activeChecks;
        this.sessions = new SessionTable(sessionIdleTimeout, maxSessions, ticker);
        this.tickerOrigin = ticker.read();
        this.wallOriginMillis = System.currentTimeMillis();
        this.metrics = new Metrics(tickerOrigin);
        this.snapshot = new Snapshot(0, new ServerState[0], new ServerState[0], null);
    }

    public String name() {
        return name;
    }

    // Request path ---------------------------------------------------------------------------------------

    public Lease pick(PickContext context) {
        Snapshot current = snapshot;
        ServerState chosen;
        String sessionKey = context.sessionKey();
        if (context.stickyToken() != null) {
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
        if (context.excludedCount() > 0) {
            metrics.retry();
        }
        chosen.acquire();
        return new LeaseImpl(this, chosen, ticker.read());
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

    void recordOutcome(ServerState state, int statusCode, long latencyNanos, long nowNanos) {
        state.release();
        boolean failure = statusCode == NO_RESPONSE || statusCode >= 500;
        int consecutive = state.record(failure, latencyNanos, nowNanos);
        metrics.record(statusCode, failure, latencyNanos, nowNanos);
        for (OutcomeObserver observer : observers) {
            observer.onOutcome(state, statusCode, failure, consecutive);
        }
    }

    void recordCancel(ServerState state) {
        state.release();
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
        for (ServerState s : snapshot.members) {
            if (s.id().equals(serverId)) {
                return s;
            }
        }
        return null;
    }

    // Control plane -------------------------------------------------------------------------------------

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
            state = new ServerState(server, ServerStatus.HEALTHY);
            state.status(deriveStatus(state));
            byId.put(server.id(), state);
            byAuthority.put(server.authority(), state);
            publish();
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
    public void activeCheckResult(String serverId, boolean up, String reason) {
        lock.lock();
        try {
            ServerState state = byId.get(serverId);
            if (state != null) {
                state.activeUp = up;
                updateStatus(state, reason);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Ejects a server from rotation (passive health) or lets it back. */
    public void setEjected(String serverId, boolean ejected, String reason) {
        lock.lock();
        try {
            ServerState state = byId.get(serverId);
            if (state != null && state.ejected != ejected) {
                state.ejected = ejected;
                updateStatus(state, reason);
            }
        } finally {
            lock.unlock();
        }
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
        if (activeChecks && state.activeUp == null) {
            return ServerStatus.UNKNOWN;
        }
        return ServerStatus.HEALTHY;
    }

    /** Builds and publishes the snapshot for the current state. Holding the lock. */
    private void publish() {
        ServerState[] members = byId.values().toArray(new ServerState[0]);
        List<ServerState> candidates = new ArrayList<>(members.length);
        for (ServerState s : members) {
            boolean pickable = s.status() == ServerStatus.HEALTHY;
            s.pickable(pickable);
            if (pickable) {
                candidates.add(s);
            }
        }
        for (ServerState s : members) {
            s.effectiveWeight(s.server().weight());
        }
        ServerState[] chosen = candidates.toArray(new ServerState[0]);
        int[] weights = new int[chosen.length];
        for (int i = 0; i < chosen.length; i++) {
            weights[i] = chosen[i].effectiveWeight();
        }
        snapshot = new Snapshot(
                ++generation, members, chosen, chosen.length == 0 ? null : pickerFactory.newPicker(chosen, weights));
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

    public void addObserver(OutcomeObserver observer) {
        observers.add(Objects.requireNonNull(observer, "observer"));
    }

    private void emit(LbEvent event) {
        events.execute(() -> {
            for (LbEventListener listener : listeners) {
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
