package dev.fairload.lb.internal;

import dev.fairload.lb.Lease;
import dev.fairload.lb.Server;

/** The lease of a pick that found no server: one shared, inert instance per reason. */
final class UnavailableLease implements Lease {
    private static final UnavailableLease[] BY_REASON = new UnavailableLease[Unavailable.values().length];

    static {
        for (Unavailable reason : Unavailable.values()) {
            BY_REASON[reason.ordinal()] = new UnavailableLease(reason);
        }
    }

    private final Unavailable reason;

    private UnavailableLease(Unavailable reason) {
        this.reason = reason;
    }

    static Lease of(Unavailable reason) {
        return BY_REASON[reason.ordinal()];
    }

    @Override
    public boolean isAcquired() {
        return false;
    }

    @Override
    public Server server() {
        throw new IllegalStateException("no server was picked: " + reason);
    }

    @Override
    public Unavailable unavailableReason() {
        return reason;
    }

    @Override
    public void complete(int statusCode) {}

    @Override
    public void complete(int statusCode, long latencyNanos) {}

    @Override
    public void fail(Throwable error) {}

    @Override
    public void close() {}

    @Override
    public String toString() {
        return "Lease{unavailable: " + reason + "}";
    }
}
