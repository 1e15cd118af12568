package dev.fairload.lb.event;

/**
 * Receives pool events. Called on the balancer's event thread, one event at a time, in order. A listener that
 * throws is logged and keeps receiving later events. Listeners should return quickly.
 */
@FunctionalInterface
public interface LbEventListener {
    void onEvent(LbEvent event);
}
