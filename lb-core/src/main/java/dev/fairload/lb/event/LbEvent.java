package dev.fairload.lb.event;

import dev.fairload.lb.Server;
import dev.fairload.lb.ServerStatus;

/**
 * Something that changed in a load balancer's pool. Events are immutable and delivered to
 * {@link LbEventListener}s in the order the changes were applied, on the balancer's event thread, never on the
 * request path.
 */
public sealed interface LbEvent {
    /** The server the event is about. */
    Server server();

    /** A server joined the pool. */
    record ServerAdded(Server server) implements LbEvent {}

    /** A server left the pool; requests in flight on it finish normally. */
    record ServerRemoved(Server server) implements LbEvent {}

    /**
     * A server's status changed, with the reason in words (for example {@code "status 503"}, {@code "timeout"},
     * {@code "connection refused"}, {@code "5 consecutive failures"}, {@code "drain"}).
     */
    record StatusChanged(Server server, ServerStatus from, ServerStatus to, String reason) implements LbEvent {}

    /** A server's configured weight changed; {@link #server()} carries the new weight. */
    record WeightChanged(Server server, int from, int to) implements LbEvent {}
}
