package dev.fairload.lb.internal.pick;

import dev.fairload.lb.PickContext;
import dev.fairload.lb.internal.ServerState;

/**
 * Chooses one server from an immutable candidate set. Built once per snapshot by a {@link PickerFactory};
 * {@link #pick} takes no lock, calls no user code and allocates nothing.
 */
public interface Picker {
    /** A candidate, or null when there are none. May return an excluded server; the caller handles that. */
    ServerState pick(PickContext context);
}
