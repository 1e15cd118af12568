package dev.fairload.lb.internal.pick;

import dev.fairload.lb.internal.ServerState;

/**
 * One balancer's instance of a strategy: it holds what must survive snapshot swaps (rotation counters,
 * random sources) and builds a {@link Picker} for each new snapshot.
 */
public interface PickerFactory {
    /**
     * Builds a picker over {@code candidates} (non-empty), whose effective weights are {@code weights}. Runs on
     * the control plane; the arrays are not modified afterwards.
     */
    Picker newPicker(ServerState[] candidates, int[] weights);

    /** Whether picks are a function of a request key (consistent hashing), which zone-aware routing would break. */
    default boolean hashing() {
        return false;
    }
}
