package dev.fairload.lb.internal;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Scheduler;
import dev.fairload.lb.Ticker;
import dev.fairload.lb.internal.pick.Hashing;
import java.time.Duration;

/**
 * Sticky sessions: session key to server, in a Caffeine cache with sliding expiry and a size bound, so memory
 * is bounded and idle sessions leave on Caffeine's scheduler without a sweeper of our own.
 *
 * <p>Memory: keys are stored as 64-bit hashes of the session key, values as shared references to the
 * server's state, so an entry costs about Caffeine's node plus a boxed {@code Long}, not the key string. Two
 * keys that collide in 64 bits (about 1 in 10^7 at a million live sessions) share a server, which stickiness
 * tolerates.
 *
 * <p>Eviction under pressure follows Caffeine's W-TinyLFU: a full table favours sessions in use. Losing a
 * binding only means the next request is balanced afresh and rebound.
 */
final class SessionTable {
    private final Cache<Long, ServerState> cache;

    SessionTable(Duration idleTimeout, long maximumSize, Ticker ticker) {
        this.cache = Caffeine.newBuilder()
                .ticker(ticker::read)
                .expireAfterAccess(idleTimeout)
                .maximumSize(maximumSize)
                .scheduler(Scheduler.systemScheduler())
                // Maintenance runs on the calling thread, never on ForkJoinPool.commonPool().
                .executor(Runnable::run)
                .build();
    }

    ServerState get(String sessionKey) {
        return cache.getIfPresent(Hashing.hash(sessionKey));
    }

    void put(String sessionKey, ServerState server) {
        cache.put(Hashing.hash(sessionKey), server);
    }

    void remove(String sessionKey) {
        cache.invalidate(Hashing.hash(sessionKey));
    }

    long size() {
        return cache.estimatedSize();
    }

    void cleanUp() {
        cache.cleanUp();
    }
}
