package dev.fairload.lb;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a pool's membership in step with one or more {@link ServerSource}s.
 *
 * <p>Each set a source delivers is compared with what that source delivered before, and the difference is
 * applied to the pool as one {@link ServerPool#apply(ServerPool.Batch) batch}, so one snapshot is published per
 * change whatever its size. A server that leaves is removed the way {@link ServerPool#remove(String)} removes:
 * no new request goes to it, requests in flight on it finish, and sessions bound to it fail over. A server's
 * weight is set when it arrives and again only when its source reports another weight, so a weight changed by
 * hand stays until then. Each server is stamped with its source's {@link ServerSource#name() name} ({@link
 * Server#source()}). Servers a source reports as terminating are drained (kept, no new requests) until it drops
 * them; a server that arrives terminating may take a request or two before its drain.
 *
 * <p>Combining: sources are independent; each adds and removes only its own servers. An address already in the
 * pool (added by hand or by an earlier source) is left as it is and not taken over. Servers added by hand are
 * never touched.
 *
 * <p>Thread safety: thread-safe; changes are applied one at a time, on the thread of the source that delivered
 * them. The request path is never involved: picks read whatever snapshot is current. {@link #close()} stops the
 * sources and leaves their servers in the pool.
 */
public final class Discovery implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Discovery.class);

    private final ServerPool pool;
    private final List<ServerSource> sources;
    // Per source: address -> the server as that source delivered it (and as added, with its source stamped).
    private final List<Map<String, Server>> owned = new ArrayList<>(); // guarded by this
    private final List<CompletableFuture<Void>> firstSets = new ArrayList<>();
    // Per source: ids this source drained (terminating servers), so only those are undrained.
    private final List<Set<String>> drained = new ArrayList<>(); // guarded by this
    private boolean closed; // guarded by this

    private Discovery(ServerPool pool, List<ServerSource> sources) {
        this.pool = pool;
        this.sources = sources;
        for (int i = 0; i < sources.size(); i++) {
            owned.add(new LinkedHashMap<>());
            drained.add(new HashSet<>());
            firstSets.add(new CompletableFuture<>());
        }
    }

    /**
     * Starts each source and keeps {@code pool} in step with them until {@link #close()}.
     *
     * @throws IllegalArgumentException if no source is given, or two have the same name
     */
    public static Discovery attach(ServerPool pool, ServerSource... sources) {
        Objects.requireNonNull(pool, "pool");
        List<ServerSource> list = List.of(sources);
        if (list.isEmpty()) {
            throw new IllegalArgumentException("sources: none (expected: at least one)");
        }
        if (list.stream().map(ServerSource::name).distinct().count() < list.size()) {
            throw new IllegalArgumentException("sources: two have the same name");
        }
        Discovery discovery = new Discovery(pool, list);
        for (int i = 0; i < list.size(); i++) {
            int index = i;
            list.get(i).start(new ServerSource.Listener() {
                @Override
                public void update(List<Server> servers) {
                    discovery.update(index, servers, Set.of());
                }

                @Override
                public void update(List<Server> servers, Set<String> draining) {
                    discovery.update(index, servers, draining);
                }
            });
        }
        return discovery;
    }

    /** Completes once every source has delivered its first set (which may never happen for an unreachable one). */
    public CompletableFuture<Void> whenReady() {
        return CompletableFuture.allOf(firstSets.toArray(new CompletableFuture<?>[0]));
    }

    /** The sources, in the order given to {@link #attach}. */
    public List<ServerSource> sources() {
        return sources;
    }

    private synchronized void update(int index, List<Server> delivered, Set<String> draining) {
        if (closed) {
            return;
        }
        ServerSource source = sources.get(index);
        Map<String, Server> mine = owned.get(index);
        Map<String, Server> wanted = new LinkedHashMap<>();
        for (Server server : delivered) {
            wanted.putIfAbsent(
                    server.authority(), server.toBuilder().source(source.name()).build());
        }
        Set<String> foreign = new HashSet<>();
        Set<String> present = new HashSet<>();
        for (ServerView view : pool.list()) {
            String authority = view.server().authority();
            present.add(view.id());
            if (!mine.containsKey(authority)) {
                foreign.add(authority);
            }
        }
        // A server of ours that was removed by hand comes back with the next set that still names it.
        mine.values().removeIf(server -> !present.contains(server.id()));
        ServerPool.Batch batch = ServerPool.batch();
        Map<String, Server> next = new HashMap<>();
        int added = 0;
        int removed = 0;
        for (Map.Entry<String, Server> e : mine.entrySet()) {
            Server now = wanted.get(e.getKey());
            Server before = e.getValue();
            if (now == null || !sameButWeight(before, now)) {
                batch.remove(before.id());
                removed++;
            }
        }
        for (Map.Entry<String, Server> e : wanted.entrySet()) {
            Server now = e.getValue();
            Server before = mine.get(e.getKey());
            if (before != null && sameButWeight(before, now)) {
                if (before.weight() != now.weight()) {
                    batch.weight(before.id(), now.weight());
                }
                next.put(e.getKey(), now.toBuilder().id(before.id()).build());
            } else if (foreign.contains(e.getKey())) {
                log.info("{}: {} is already in the pool, not from this source; left as it is", source.name(), now);
            } else {
                batch.add(now);
                next.put(e.getKey(), now);
                added++;
            }
        }
        if (!batch.isEmpty()) {
            try {
                pool.apply(batch);
            } catch (IllegalStateException | NoSuchElementException e) {
                // Someone changed the pool by hand between our reading and our change: try again next time.
                log.warn("{}: change not applied, retried at the next update: {}", source.name(), e.getMessage());
                return;
            }
            log.info(
                    "{}: {} servers (+{} -{}{})",
                    source.name(),
                    next.size(),
                    added,
                    removed,
                    batch.size() > added + removed ? ", weights changed" : "");
        }
        mine.clear();
        mine.putAll(next);
        Set<String> drainedNow = drained.get(index);
        for (Server server : next.values()) {
            boolean drain = draining.contains(server.id());
            if (drain != drainedNow.contains(server.id())) {
                try {
                    if (drain) {
                        pool.drain(server.id());
                        drainedNow.add(server.id());
                        log.info("{}: {} is terminating: draining", source.name(), server);
                    } else {
                        pool.undrain(server.id());
                        drainedNow.remove(server.id());
                    }
                } catch (NoSuchElementException e) {
                    drainedNow.remove(server.id());
                }
            }
        }
        drainedNow.retainAll(next.values().stream().map(Server::id).toList());
        firstSets.get(index).complete(null);
    }

    /** Whether the two describe the same server apart from weight (so the change is a weight change). */
    private static boolean sameButWeight(Server a, Server b) {
        return a.id().equals(b.id())
                && a.zone().equals(b.zone())
                && a.healthCheckPath().equals(b.healthCheckPath())
                && a.healthCheckInterval().equals(b.healthCheckInterval());
    }

    /** Stops every source; their servers stay in the pool. Idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            closed = true;
        }
        for (ServerSource source : sources) {
            try {
                source.close();
            } catch (RuntimeException e) {
                log.warn("{}: close failed", source.name(), e);
            }
        }
    }

    @Override
    public String toString() {
        return "Discovery{" + sources.stream().map(ServerSource::name).toList() + "}";
    }
}
