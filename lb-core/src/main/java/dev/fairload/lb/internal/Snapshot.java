package dev.fairload.lb.internal;

import dev.fairload.lb.Lease;
import dev.fairload.lb.PickContext;
import dev.fairload.lb.internal.pick.Picker;
import dev.fairload.lb.internal.pick.Pickers;
import java.util.HashMap;
import java.util.Map;

/**
 * An immutable view of the pool that the request path reads with one volatile load: every member, the
 * candidates a pick may choose from (healthy, not draining) and the picker built over them.
 */
public final class Snapshot {
    final long generation;
    final ServerState[] members;
    final ServerState[] candidates;
    /** Ejected servers whose ejection time is over, each waiting for one trial request. Usually empty. */
    final ServerState[] trials;
    /** Whether too few servers are healthy and the candidates are every server not draining. */
    final boolean panic;

    private final Picker picker;
    // Built on first use: most snapshots are replaced before anyone looks a server up by id or token.
    private volatile Map<String, ServerState> byStickyToken;
    private volatile Map<String, ServerState> byId;

    Snapshot(
            long generation,
            ServerState[] members,
            ServerState[] candidates,
            Picker picker,
            ServerState[] trials,
            boolean panic) {
        this.generation = generation;
        this.members = members;
        this.candidates = candidates;
        this.picker = picker;
        this.trials = trials;
        this.panic = panic;
    }

    /** The member with this id, or null. */
    ServerState member(String serverId) {
        Map<String, ServerState> map = byId;
        if (map == null) {
            map = new HashMap<>(members.length * 2);
            for (ServerState s : members) {
                map.put(s.id(), s);
            }
            byId = map;
        }
        return map.get(serverId);
    }

    /** The member with this sticky token, or null. */
    ServerState byStickyToken(String token) {
        Map<String, ServerState> map = byStickyToken;
        if (map == null) {
            map = new HashMap<>(members.length * 2);
            for (ServerState s : members) {
                map.put(s.stickyToken(), s);
            }
            byStickyToken = map;
        }
        return map.get(token);
    }

    /** Each zone's share of picks in 1/10,000, or empty when routing is not zone-aware. */
    java.util.Map<String, Integer> zoneShares() {
        return picker instanceof dev.fairload.lb.internal.pick.ZonePicker zones ? zones.shares() : java.util.Map.of();
    }

    public long generation() {
        return generation;
    }

    public int memberCount() {
        return members.length;
    }

    public int candidateCount() {
        return candidates.length;
    }

    /** The chosen server, or null; see {@link #unavailableReason(PickContext)} for why. */
    ServerState choose(PickContext context) {
        if (candidates.length == 0) {
            return null;
        }
        ServerState chosen = picker.pick(context);
        if (context.excludedCount() == 0 || !context.isExcluded(chosen.id())) {
            return chosen;
        }
        // Rotating and random strategies usually find another server at once; hashing ones never do.
        chosen = picker.pick(context);
        if (!context.isExcluded(chosen.id())) {
            return chosen;
        }
        return Pickers.leastLoadedNotExcluded(candidates, context);
    }

    Lease.Unavailable unavailableReason(PickContext context) {
        if (members.length == 0) {
            return Lease.Unavailable.NO_SERVERS;
        }
        return candidates.length == 0 ? Lease.Unavailable.NO_HEALTHY_SERVER : Lease.Unavailable.ALL_TRIED;
    }
}
