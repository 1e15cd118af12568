package dev.fairload.lb.internal;

import dev.fairload.lb.Lease;
import dev.fairload.lb.Server;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * An acquired lease. Completion is claimed with one CAS on {@link #state}, so exactly one outcome is recorded.
 * The object is 32 bytes: the one allocation of a pick.
 */
final class LeaseImpl implements Lease {
    private static final VarHandle DONE_HANDLE;

    static {
        try {
            DONE_HANDLE = MethodHandles.lookup().findVarHandle(LeaseImpl.class, "phase", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Pool pool;
    private final ServerState state;
    private final long startNanos;

    /** {@link #OPEN} or {@link #OPEN_TRIAL} until completed, then {@link #DONE}; claimed through {@link #DONE_HANDLE}. */
    @SuppressWarnings("unused") // through DONE_HANDLE
    private volatile int phase;

    private static final int OPEN = 0;
    /** Open, and the one trial request sent to a server whose ejection time is over. */
    private static final int OPEN_TRIAL = 1;

    private static final int DONE = 2;

    LeaseImpl(Pool pool, ServerState state, long startNanos, boolean trial) {
        this.pool = pool;
        this.state = state;
        this.startNanos = startNanos;
        if (trial) {
            this.phase = OPEN_TRIAL;
        }
    }

    @Override
    public boolean isAcquired() {
        return true;
    }

    @Override
    public Server server() {
        return state.server();
    }

    @Override
    public Unavailable unavailableReason() {
        return null;
    }

    @Override
    public void complete(int statusCode) {
        int claimed = claim();
        if (claimed != DONE) {
            long now = pool.ticker.read();
            pool.recordOutcome(state, claimed == OPEN_TRIAL, statusCode, now - startNanos, now);
        }
    }

    @Override
    public void complete(int statusCode, long latencyNanos) {
        int claimed = claim();
        if (claimed != DONE) {
            // The caller measured the latency: no second clock read on the request path.
            pool.recordOutcome(state, claimed == OPEN_TRIAL, statusCode, latencyNanos, startNanos + latencyNanos);
        }
    }

    @Override
    public void fail(Throwable error) {
        int claimed = claim();
        if (claimed != DONE) {
            long now = pool.ticker.read();
            pool.recordOutcome(state, claimed == OPEN_TRIAL, Pool.NO_RESPONSE, now - startNanos, now);
        }
    }

    @Override
    public void close() {
        int claimed = claim();
        if (claimed != DONE) {
            pool.recordCancel(state, claimed == OPEN_TRIAL);
        }
    }

    /** Moves to {@link #DONE}; returns the phase it left, or {@link #DONE} if another call got there first. */
    private int claim() {
        int phase = (int) DONE_HANDLE.getVolatile(this);
        while (phase != DONE) {
            int witness = (int) DONE_HANDLE.compareAndExchange(this, phase, DONE);
            if (witness == phase) {
                return phase;
            }
            phase = witness;
        }
        return DONE;
    }

    @Override
    public String toString() {
        return "Lease{" + state.server() + (phase == DONE ? ", completed}" : "}");
    }
}
