package dev.fairload.lb;

/**
 * A source of nanosecond time for latency, expiry and scheduling decisions. Tests pass a fake ticker to
 * control time; production uses {@link #system()}.
 *
 * <p>Implementations must be thread-safe and cheap: the request path reads the ticker once per pick and
 * once per completion.
 */
@FunctionalInterface
public interface Ticker {
    /** Nanoseconds from an arbitrary origin; only differences are meaningful. */
    long read();

    /** {@link System#nanoTime()}. */
    static Ticker system() {
        return System::nanoTime;
    }
}
