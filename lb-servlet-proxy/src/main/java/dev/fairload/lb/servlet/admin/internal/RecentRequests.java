package dev.fairload.lb.servlet.admin.internal;

import dev.fairload.lb.servlet.ProxyRuntime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * The last {@code capacity} requests the proxy finished, and counts of all of them by status class.
 *
 * <p>Concurrency: a ring of slots written without locks. A writer claims a sequence number with one {@code
 * getAndIncrement} and stores its (immutable) exchange in slot {@code sequence % capacity} with one volatile write;
 * the counts are {@link LongAdder}s. Readers copy the ring newest first; under concurrent writes a reader may see a
 * slot already overwritten by a newer request (then it shows the newer one, and the list stays ordered by sequence
 * only approximately). That is the price of a request path that never waits: each finished request costs one
 * atomic increment, one array write and one adder increment.
 *
 * <p>Memory: {@code capacity} references to exchanges (about 150 bytes each with their strings).
 */
public final class RecentRequests implements ProxyRuntime.ExchangeListener {
    public static final int DEFAULT_CAPACITY = 1000;
    static final List<String> CLASSES = List.of("1xx", "2xx", "3xx", "4xx", "5xx", "none");

    private final AtomicReferenceArray<ProxyRuntime.Exchange> ring;
    private final AtomicLong sequence = new AtomicLong();
    private final LongAdder[] byClass = new LongAdder[CLASSES.size()];

    public RecentRequests(int capacity) {
        if (capacity < 1 || capacity > 100_000) {
            throw new IllegalArgumentException("recentRequests: " + capacity + " (expected: 1-100000)");
        }
        this.ring = new AtomicReferenceArray<>(capacity);
        for (int i = 0; i < byClass.length; i++) {
            byClass[i] = new LongAdder();
        }
    }

    public int capacity() {
        return ring.length();
    }

    @Override
    public void onExchange(ProxyRuntime.Exchange exchange) {
        long seq = sequence.getAndIncrement();
        ring.set((int) (seq % ring.length()), exchange);
        byClass[classIndex(exchange.status())].increment();
    }

    /** Up to {@code limit} of the most recent requests, newest first. */
    public List<ProxyRuntime.Exchange> recent(int limit) {
        int n = (int) Math.min(Math.min(limit, ring.length()), sequence.get());
        long newest = sequence.get() - 1;
        List<ProxyRuntime.Exchange> out = new ArrayList<>(n);
        for (long s = newest; s > newest - n && s >= 0; s--) {
            ProxyRuntime.Exchange e = ring.get((int) (s % ring.length()));
            if (e != null) {
                out.add(e);
            }
        }
        return out;
    }

    /** Requests finished since start. */
    public long total() {
        return sequence.get();
    }

    /** Requests finished since start by status class, {@code 1xx}-{@code 5xx}, and {@code none} (client gone). */
    public java.util.Map<String, Long> countsByClass() {
        java.util.Map<String, Long> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < CLASSES.size(); i++) {
            m.put(CLASSES.get(i), byClass[i].sum());
        }
        return m;
    }

    static int classIndex(int status) {
        return status >= 100 && status <= 599 ? status / 100 - 1 : CLASSES.size() - 1;
    }
}
