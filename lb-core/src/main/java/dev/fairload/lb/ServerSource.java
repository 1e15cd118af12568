package dev.fairload.lb;

import java.util.List;
import java.util.Objects;

/**
 * Knows which servers a pool should hold, and says so whenever that changes: a static list, a DNS name
 * ({@code dev.fairload.lb.dns.DnsServerSource}), a Kubernetes service. Attach sources to a pool with {@link
 * Discovery}, which keeps the pool's membership in step with them through the public {@link ServerPool} API.
 *
 * <p>Contract: after {@link #start}, a source delivers complete sets (never deltas) to its listener: the first as
 * soon as it knows one, then each time the set changes. A source that cannot reach what it follows delivers
 * nothing, so the pool keeps the last good set: a failure must never be reported as an empty set. Deliveries
 * come one at a time, on a thread of the source's choosing; the listener is cheap and does not block for long.
 * Servers' ids must be stable for the same address (so a server is recognised from one set to the next) and
 * unique across the sources of a pool.
 *
 * <p>Implementations are thread-safe. New methods will be added as {@code default} methods.
 */
public interface ServerSource extends AutoCloseable {
    /**
     * A short name for this source, shown as each of its servers' {@link Server#source()} (for example {@code
     * dns+srv://_http._tcp.api.example}).
     */
    String name();

    /** Starts following and delivering to {@code listener}. Called once. */
    void start(Listener listener);

    /** Stops following: nothing is delivered once this returns. Idempotent. */
    @Override
    void close();

    /** Receives the complete sets of servers a source knows. */
    @FunctionalInterface
    interface Listener {
        /** The servers the pool should hold now, as far as this source knows. */
        void update(List<Server> servers);

        /**
         * The servers the pool should hold now, of which those with an id in {@code draining} are shutting down:
         * they stay in the pool as {@link ServerStatus#DRAINING} (no new request, sticky ones included; those in
         * flight finish) until a later set drops them or no longer marks them. By default, draining servers are
         * left out.
         */
        default void update(List<Server> servers, java.util.Set<String> draining) {
            update(servers.stream().filter(s -> !draining.contains(s.id())).toList());
        }
    }

    /**
     * A source that holds a fixed list: it delivers it once at start. Combined with other sources in one {@link
     * Discovery}, it keeps a few servers in the pool whatever the others say.
     *
     * @throws IllegalArgumentException if two servers share an id or a host:port
     */
    static ServerSource of(String name, List<Server> servers) {
        Objects.requireNonNull(name, "name");
        List<Server> copy = List.copyOf(servers);
        if (copy.stream().map(Server::id).distinct().count() < copy.size()
                || copy.stream().map(Server::authority).distinct().count() < copy.size()) {
            throw new IllegalArgumentException("servers: an id or host:port appears twice");
        }
        return new ServerSource() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public void start(Listener listener) {
                listener.update(copy);
            }

            @Override
            public void close() {}

            @Override
            public String toString() {
                return "ServerSource{" + name + ", " + copy.size() + " servers}";
            }
        };
    }
}
