package dev.fairload.lb.internal;

import dev.fairload.lb.Server;
import dev.fairload.lb.ServerStatus;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Long-lived per-server state that snapshots reference and that survives every snapshot swap.
 *
 * <p>Concurrency: the request path touches only the counters (in-flight, totals, latency), all lock-free.
 * Every other field is written by the control plane while it holds the pool's lock, and published through
 * volatile writes before the snapshot that uses them.
 *
 * <p>Latency: a peak-EWMA (Finagle, Linkerd): a slower response raises the estimate at once; faster ones pull
 * it down with a time constant of {@link #EWMA_DECAY_NANOS} (the old value keeps the weight 1 / (1 + dt/tau),
 * a cheap stand-in for exp(-dt/tau)), so a server that slows down is noticed at its next response and one that
 * recovers earns traffic back gradually.
 */
public final class ServerState {
    /** Time constant of the latency EWMA: 10 seconds, as Finagle's default decay time. */
    public static final long EWMA_DECAY_NANOS = 10_000_000_000L;

    private volatile Server server;
    private String stickyToken;
    private volatile ServerStatus status;
    private volatile int effectiveWeight;
    private volatile boolean pickable;

    final AtomicInteger inFlight = new AtomicInteger();
    private final LongAdder requests = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private final AtomicLong ewmaBits = new AtomicLong(Double.doubleToRawLongBits(0.0));
    // Statistics written with opaque stores: readers want a recent value, not an ordering guarantee.
    private long ewmaStampNanos;
    private long lastLatencyNanos = -1;
    private long lastSeenNanos;
    private static final java.lang.invoke.VarHandle EWMA_STAMP;
    private static final java.lang.invoke.VarHandle LAST_LATENCY;
    private static final java.lang.invoke.VarHandle LAST_SEEN;

    static {
        try {
            java.lang.invoke.MethodHandles.Lookup lookup = java.lang.invoke.MethodHandles.lookup();
            EWMA_STAMP = lookup.findVarHandle(ServerState.class, "ewmaStampNanos", long.class);
            LAST_LATENCY = lookup.findVarHandle(ServerState.class, "lastLatencyNanos", long.class);
            LAST_SEEN = lookup.findVarHandle(ServerState.class, "lastSeenNanos", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
    /** Consecutive failures of real traffic, for passive health. Reset by a success. */
    final AtomicInteger consecutiveFailures = new AtomicInteger();

    private volatile long lastHealthCheckMillis;

    // Inputs to the status, guarded by the pool's lock: an admin drain, the active checker's verdict and a
    // passive ejection. The status is derived from them in Pool.deriveStatus.
    boolean draining;
    /** The active checker's verdict: null before the first check (or without active checks). */
    Boolean activeUp;

    boolean ejected;

    // Passive health, guarded by the pool's lock unless atomic.
    /** Ejections in a row: the multiplier of the next ejection time. */
    int ejections;

    long ejectedUntilNanos;
    long lastUnejectNanos;
    /** Ejections so far, never reset: tells a trial timer which ejection it belongs to. */
    long ejectionCount;
    /** Active checks passed in a row since the current ejection began (early trial at {@code rise}). */
    int passesSinceEjection;

    io.github.resilience4j.circuitbreaker.CircuitBreaker circuit;
    /** Set when the request path asked the control plane for an ejection that is not applied yet. */
    final java.util.concurrent.atomic.AtomicBoolean ejectionPending = new java.util.concurrent.atomic.AtomicBoolean();
    /** Trial request after an ejection: {@link #NO_TRIAL}, {@link #TRIAL_AVAILABLE} or {@link #TRIAL_CLAIMED}. */
    final AtomicInteger trial = new AtomicInteger();

    static final int NO_TRIAL = 0;
    static final int TRIAL_AVAILABLE = 1;
    static final int TRIAL_CLAIMED = 2;

    /** Ticker time at which the server last became healthy, for slow start; 0 if it never was. */
    long healthySinceNanos;

    public ServerState(Server server, ServerStatus initialStatus) {
        this.server = server;
        this.status = initialStatus;
        this.effectiveWeight = server.weight();
    }

    public Server server() {
        return server;
    }

    public String id() {
        return server.id();
    }

    private long addressHash;
    private boolean addressHashed;

    /** A 64-bit hash of {@code host:port}, computed once (Maglev tables are keyed by it). */
    public long addressHash() {
        if (!addressHashed) {
            addressHash = dev.fairload.lb.internal.pick.Hashing.hash(server.authority());
            addressHashed = true;
        }
        return addressHash;
    }

    /** {@link Server#stickyToken()}, computed once: the address never changes for a state. */
    public String stickyToken() {
        String token = stickyToken;
        if (token == null) {
            stickyToken = token = server.stickyToken();
        }
        return token;
    }

    public ServerStatus status() {
        return status;
    }

    /** The weight strategies use now: the configured weight, lower while slow start ramps it up. */
    public int effectiveWeight() {
        return effectiveWeight;
    }

    /** Whether the current snapshot offers this server to new requests. */
    public boolean isPickable() {
        return pickable;
    }

    public int inFlight() {
        return inFlight.get();
    }

    public long totalRequests() {
        return requests.sum();
    }

    public long failures() {
        return failures.sum();
    }

    public int consecutiveFailures() {
        return consecutiveFailures.get();
    }

    /** Smoothed latency in nanoseconds, 0 before the first response. */
    public double ewmaNanos() {
        return Double.longBitsToDouble(ewmaBits.get());
    }

    /** Latency of the last response in nanoseconds, or -1 before the first. */
    public long lastLatencyNanos() {
        return (long) LAST_LATENCY.getOpaque(this);
    }

    /** Ticker time of the last response or failure, or 0 if none. */
    public long lastSeenNanos() {
        return (long) LAST_SEEN.getOpaque(this);
    }

    /** Wall-clock millis of the last finished active check, or 0 if none. */
    public long lastHealthCheckMillis() {
        return lastHealthCheckMillis;
    }

    public void lastHealthCheckMillis(long millis) {
        this.lastHealthCheckMillis = millis;
    }

    // Control plane (holding the pool lock) ------------------------------------------------------------

    void server(Server server) {
        this.server = server;
    }

    void status(ServerStatus status) {
        this.status = status;
    }

    void effectiveWeight(int weight) {
        this.effectiveWeight = weight;
    }

    void pickable(boolean pickable) {
        this.pickable = pickable;
    }

    // Request path ---------------------------------------------------------------------------------------

    /** Counts one request out; paired with exactly one {@link #release}. */
    public void acquire() {
        inFlight.incrementAndGet();
    }

    /** Counts one request out unless {@code limit} are already in flight. */
    boolean tryAcquire(int limit) {
        while (true) {
            int n = inFlight.get();
            if (n >= limit) {
                return false;
            }
            if (inFlight.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    void release() {
        inFlight.decrementAndGet();
    }

    /**
     * Records a finished request. Returns the number of consecutive failures after it (0 after a success).
     */
    int record(boolean failure, long latencyNanos, long nowNanos) {
        requests.increment();
        LAST_SEEN.setOpaque(this, nowNanos);
        if (latencyNanos >= 0) {
            LAST_LATENCY.setOpaque(this, latencyNanos);
            updateEwma(latencyNanos, nowNanos);
        }
        if (failure) {
            failures.increment();
            return consecutiveFailures.incrementAndGet();
        }
        if (consecutiveFailures.get() != 0) {
            consecutiveFailures.set(0);
        }
        return 0;
    }

    private void updateEwma(long latencyNanos, long nowNanos) {
        long elapsed = Math.max(0, nowNanos - (long) EWMA_STAMP.getOpaque(this));
        EWMA_STAMP.setOpaque(this, nowNanos);
        // 1 / (1 + x) in place of exp(-x): the same shape (1 at x = 0, falling towards 0), without exp's cost.
        double weightOfOld = 1.0 / (1.0 + (double) elapsed / EWMA_DECAY_NANOS);
        while (true) {
            long bits = ewmaBits.get();
            double old = Double.longBitsToDouble(bits);
            double next = latencyNanos > old ? latencyNanos : old * weightOfOld + latencyNanos * (1 - weightOfOld);
            if (ewmaBits.compareAndSet(bits, Double.doubleToRawLongBits(next))) {
                return;
            }
        }
    }

    @Override
    public String toString() {
        return server + " " + status + " inFlight=" + inFlight.get();
    }
}
