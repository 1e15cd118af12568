package dev.fairload.lb.event;

/** Stops a listener's deliveries when closed. Closing twice is harmless. Thread-safe. */
@FunctionalInterface
public interface Subscription extends AutoCloseable {
    @Override
    void close();
}
