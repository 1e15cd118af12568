package dev.fairload.lb.servlet.internal;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The proxy-wide limit on requests in flight: a request either gets a permit at once or is refused at once. There is
 * no queue, so a burst above the limit costs the refused requests one atomic increment and one 503 each, and memory
 * stays bounded whatever the load.
 *
 * <p>Thread-safe and lock-free. The limit may change at any time; requests holding permits keep them, so the count
 * may stay above a lowered limit until they finish.
 */
public final class ConcurrencyLimit {
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger refused = new AtomicInteger();

    /** A permit for one request, or null if {@code limit} requests are already in flight. */
    public Permit tryAcquire(int limit) {
        while (true) {
            int current = inFlight.get();
            if (current >= limit) {
                refused.incrementAndGet();
                return null;
            }
            if (inFlight.compareAndSet(current, current + 1)) {
                return new Permit();
            }
        }
    }

    /** Requests holding a permit now. */
    public int inFlight() {
        return inFlight.get();
    }

    /** Requests refused since the start (wraps after 2^31). */
    public int refused() {
        return refused.get();
    }

    /** One request's hold on the limit; {@link #release()} gives it back, once, however often it is called. */
    public final class Permit {
        private final AtomicBoolean released = new AtomicBoolean();

        private Permit() {}

        public void release() {
            if (released.compareAndSet(false, true)) {
                inFlight.decrementAndGet();
            }
        }
    }
}
