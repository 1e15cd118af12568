package dev.fairload.lb.internal;

import dev.fairload.lb.Lease;
import dev.fairload.lb.Server;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/** An acquired lease. Completion is claimed with one CAS, so exactly one outcome is recorded. */
final class LeaseImpl implements Lease {
    private static final VarHandle DONE;

    static {
        try {
            DONE = MethodHandles.lookup().findVarHandle(LeaseImpl.class, "done", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Pool pool;
    private final ServerState state;
    private final long startNanos;
    /** Whether this request is the one trial sent to a server whose ejection time is over. */
    private final boolean trial;

    @SuppressWarnings("unused") // through DONE
    private volatile int done;

    LeaseImpl(Pool pool, ServerState state, long startNanos, boolean trial) {
        this.pool = pool;
        this.state = state;
        this.startNanos = startNanos;
        this.trial = trial;
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
        if (claim()) {
            long now = pool.ticker.read();
            pool.recordOutcome(state, trial, statusCode, now - startNanos, now);
        }
    }

    @Override
    public void complete(int statusCode, long latencyNanos) {
        if (claim()) {
            pool.recordOutcome(state, trial, statusCode, latencyNanos, pool.ticker.read());
        }
    }

    @Override
    public void fail(Throwable error) {
        if (claim()) {
            long now = pool.ticker.read();
            pool.recordOutcome(state, trial, Pool.NO_RESPONSE, now - startNanos, now);
        }
    }

    @Override
    public void close() {
        if (claim()) {
            pool.recordCancel(state, trial);
        }
    }

    private boolean claim() {
        return DONE.compareAndSet(this, 0, 1);
    }

    @Override
    public String toString() {
        return "Lease{" + state.server() + (done != 0 ? ", completed}" : "}");
    }
}
