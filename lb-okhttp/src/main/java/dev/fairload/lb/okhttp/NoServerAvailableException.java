package dev.fairload.lb.okhttp;

import dev.fairload.lb.Lease;
import java.io.IOException;
import java.util.Objects;

/**
 * Thrown by a call to a balanced service when the balancer has no server to send it to: the service has no
 * servers, none is healthy, or every healthy one is at its limit. The message names the service and the
 * reason, for example {@code "orders: no server available (NO_HEALTHY_SERVER)"}.
 *
 * <p>Being an {@link IOException}, it reaches {@code Call.execute()} callers and {@code Callback.onFailure}
 * like any other network failure. When the call had already tried servers that failed, their exceptions are
 * attached as {@linkplain #getSuppressed() suppressed}. Immutable apart from the suppressed list, which the
 * interceptor fills before throwing.
 */
public final class NoServerAvailableException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String service;
    private final transient Lease.Unavailable reason;

    public NoServerAvailableException(String service, Lease.Unavailable reason) {
        super(Objects.requireNonNull(service, "service") + ": no server available ("
                + Objects.requireNonNull(reason, "reason") + ")");
        this.service = service;
        this.reason = reason;
    }

    /** The logical service name the call was addressed to. */
    public String service() {
        return service;
    }

    /** Why the balancer had no server; null only after deserialization. */
    public Lease.Unavailable reason() {
        return reason;
    }
}
