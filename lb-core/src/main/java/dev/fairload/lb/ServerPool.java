package dev.fairload.lb;

import dev.fairload.lb.event.LbEventListener;
import dev.fairload.lb.event.Subscription;
import dev.fairload.lb.internal.Pool;
import java.time.Duration;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The servers of one {@link LoadBalancer}, changed at runtime.
 *
 * <p>Thread-safe. Each change is applied whole or not at all, then published as a new immutable snapshot
 * that the next pick sees; a rejected change leaves the pool as it was. Requests in flight are never lost by
 * a change: they complete against the server they were picked for and are counted there. Changes cost
 * O(n) for n servers plus the rebuild of the current strategy's tables (a few milliseconds at 10,000
 * servers). Listeners get one event per change, in order, on the balancer's event thread.
 */
public final class ServerPool {
    private final Pool pool;

    ServerPool(Pool pool) {
        this.pool = pool;
    }

    /**
     * Adds a server.
     *
     * @return the server as added, with its status
     * @throws IllegalStateException if a server with the same id or host:port is already in the pool
     */
    public ServerView add(Server server) {
        return pool.add(server);
    }

    /**
     * Completes when the server's first active health check has finished, so its status is known; at once when
     * active checks are off. Completes normally also if the server is removed meanwhile.
     */
    public CompletableFuture<Void> firstCheck(String serverId) {
        return pool.firstCheck(serverId);
    }

    /**
     * Applies several changes as one: every removal, then every addition, then every weight change of the batch,
     * validated as a whole and then published as one snapshot (so the strategy's tables are rebuilt once, not
     * once per server: a change of 1,000 servers costs about what one change costs). Listeners still get one
     * event per server changed. Removed servers behave as with {@link #remove(String)}.
     *
     * @throws IllegalStateException if an added server's id or host:port is already in the pool (and not removed
     *     by the same batch), or appears twice in the batch; nothing is applied
     * @throws NoSuchElementException if a removed or reweighted id is not in the pool; nothing is applied
     */
    public void apply(Batch batch) {
        pool.apply(List.copyOf(batch.removes), List.copyOf(batch.adds), java.util.Map.copyOf(batch.weights));
    }

    /** A new, empty batch of changes for {@link #apply(Batch)}. */
    public static Batch batch() {
        return new Batch();
    }

    /**
     * Changes to apply together with {@link ServerPool#apply(Batch)}. Not thread-safe; may be applied more than
     * once (to several pools, for instance).
     */
    public static final class Batch {
        private final List<String> removes = new java.util.ArrayList<>();
        private final List<Server> adds = new java.util.ArrayList<>();
        private final java.util.Map<String, Integer> weights = new java.util.LinkedHashMap<>();

        private Batch() {}

        /** Adds this server. */
        public Batch add(Server server) {
            adds.add(java.util.Objects.requireNonNull(server, "server"));
            return this;
        }

        /** Removes the server with this id. */
        public Batch remove(String serverId) {
            removes.add(java.util.Objects.requireNonNull(serverId, "serverId"));
            return this;
        }

        /**
         * Sets the weight of the server with this id (one in the pool, or one this batch adds).
         *
         * @throws IllegalArgumentException if the weight is outside 1-1000
         */
        public Batch weight(String serverId, int weight) {
            java.util.Objects.requireNonNull(serverId, "serverId");
            if (weight < Server.MIN_WEIGHT || weight > Server.MAX_WEIGHT) {
                throw new IllegalArgumentException(
                        "weight: " + weight + " (expected: " + Server.MIN_WEIGHT + "-" + Server.MAX_WEIGHT + ")");
            }
            weights.put(serverId, weight);
            return this;
        }

        /** Whether the batch holds no change. */
        public boolean isEmpty() {
            return removes.isEmpty() && adds.isEmpty() && weights.isEmpty();
        }

        /** The number of changes in the batch. */
        public int size() {
            return removes.size() + adds.size() + weights.size();
        }
    }

    /**
     * Removes a server at once: no new request goes to it, and requests in flight on it finish normally.
     *
     * @return the removed server
     * @throws NoSuchElementException if there is no server with this id
     */
    public Server remove(String serverId) {
        return pool.remove(serverId);
    }

    /**
     * Drains a server, then removes it once its in-flight requests have finished or {@code timeout} has
     * passed, whichever comes first.
     *
     * @return completes with the removed server
     * @throws NoSuchElementException if there is no server with this id
     */
    public CompletableFuture<Server> removeGracefully(String serverId, Duration timeout) {
        return pool.removeGracefully(serverId, timeout);
    }

    /**
     * Changes a server's weight.
     *
     * @throws IllegalArgumentException if the weight is outside 1-1000
     * @throws NoSuchElementException if there is no server with this id
     */
    public ServerView setWeight(String serverId, int weight) {
        return pool.setWeight(serverId, weight);
    }

    /**
     * Puts a server into {@link ServerStatus#DRAINING}: it takes no new requests, sticky ones included, while
     * those in flight finish.
     *
     * @throws NoSuchElementException if there is no server with this id
     */
    public ServerView drain(String serverId) {
        return pool.setDraining(serverId, true);
    }

    /**
     * Ends a drain; the server's status is its health again.
     *
     * @throws NoSuchElementException if there is no server with this id
     */
    public ServerView undrain(String serverId) {
        return pool.setDraining(serverId, false);
    }

    /** The server with this id, if it is in the pool. */
    public Optional<ServerView> get(String serverId) {
        try {
            return Optional.of(pool.view(serverId));
        } catch (NoSuchElementException e) {
            return Optional.empty();
        }
    }

    /** Every server, in the order they were added. */
    public List<ServerView> list() {
        return pool.views();
    }

    /** The number of servers. */
    public int size() {
        return pool.snapshot().memberCount();
    }

    /** The number of servers new requests may go to. */
    public int healthyCount() {
        return pool.snapshot().candidateCount();
    }

    /** Subscribes to added, removed, status-changed and weight-changed events. */
    public Subscription addListener(LbEventListener listener) {
        return pool.addListener(listener);
    }
}
