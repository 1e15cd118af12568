package dev.fairload.lb.internal.pick;

import dev.fairload.lb.PickContext;
import dev.fairload.lb.internal.ServerState;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The built-in strategies. Each factory method returns a fresh {@link PickerFactory} holding the state that
 * must outlive a snapshot (a rotation counter or a random sequence); the pickers it builds are immutable.
 */
public final class Pickers {
    /** Above this many candidates, {@code least_connections} scans a rotating window instead of all of them. */
    static final int LEAST_CONNECTIONS_WINDOW = 64;

    private Pickers() {}

    public static PickerFactory roundRobin() {
        AtomicLong sequence = new AtomicLong();
        return (candidates, weights) -> context -> candidates[index(sequence, candidates.length)];
    }

    public static PickerFactory weighted() {
        AtomicLong sequence = new AtomicLong();
        return (candidates, weights) -> {
            int[] schedule = WeightedSchedule.build(weights);
            return context -> candidates[schedule[index(sequence, schedule.length)]];
        };
    }

    public static PickerFactory leastConnections() {
        AtomicLong sequence = new AtomicLong();
        return (candidates, weights) -> context -> {
            int n = candidates.length;
            int start = index(sequence, n);
            int scan = Math.min(n, LEAST_CONNECTIONS_WINDOW);
            int best = start;
            long bestLoad = candidates[start].inFlight() + 1L;
            for (int k = 1; k < scan; k++) {
                int i = start + k;
                if (i >= n) {
                    i -= n;
                }
                long load = candidates[i].inFlight() + 1L;
                // (inFlight + 1) / weight, compared in integers: heavier servers win ties at equal load, and the
                // first of equals from the rotating start wins, so ties spread.
                if (load * weights[best] < bestLoad * weights[i]) {
                    best = i;
                    bestLoad = load;
                }
            }
            return candidates[best];
        };
    }

    public static PickerFactory ipHash() {
        return (candidates, weights) -> {
            Maglev.Table table = Maglev.table(candidates, weights);
            return context -> {
                String address = context.clientAddress();
                return address == null
                        ? candidates[ThreadLocalRandom.current().nextInt(candidates.length)]
                        : candidates[table.server(Hashing.hash(address))];
            };
        };
    }

    public static PickerFactory consistentHash() {
        return (candidates, weights) -> {
            Maglev.Table table = Maglev.table(candidates, weights);
            return context -> {
                String key = context.hashKey() != null ? context.hashKey() : context.clientAddress();
                return key == null
                        ? candidates[ThreadLocalRandom.current().nextInt(candidates.length)]
                        : candidates[table.server(Hashing.hash(key))];
            };
        };
    }

    public static PickerFactory random() {
        return (candidates, weights) ->
                context -> candidates[ThreadLocalRandom.current().nextInt(candidates.length)];
    }

    /** A SplitMix64 sequence: deterministic for a seed, lock-free across threads. */
    public static PickerFactory seededRandom(long seed) {
        AtomicLong state = new AtomicLong(seed);
        return (candidates, weights) -> context -> {
            long r = Hashing.mix(state.addAndGet(0x9e3779b97f4a7c15L));
            return candidates[(int) (((r >>> 32) * candidates.length) >>> 32)];
        };
    }

    public static PickerFactory powerOfTwo() {
        return (candidates, weights) -> context -> {
            int n = candidates.length;
            if (n == 1) {
                return candidates[0];
            }
            ThreadLocalRandom random = ThreadLocalRandom.current();
            int a = random.nextInt(n);
            int b = random.nextInt(n - 1);
            if (b >= a) {
                b++;
            }
            // (inFlight + 1) / weight, compared in integers.
            long loadA = candidates[a].inFlight() + 1L;
            long loadB = candidates[b].inFlight() + 1L;
            return loadB * weights[a] < loadA * weights[b] ? candidates[b] : candidates[a];
        };
    }

    /** Cost of a server with no response yet: 1 ms, so a new server is tried but not flooded. */
    static final double UNMEASURED_COST_NANOS = 1_000_000;

    public static PickerFactory leastResponseTime() {
        return (candidates, weights) -> context -> {
            int n = candidates.length;
            if (n == 1) {
                return candidates[0];
            }
            ThreadLocalRandom random = ThreadLocalRandom.current();
            int a = random.nextInt(n);
            int b = random.nextInt(n - 1);
            if (b >= a) {
                b++;
            }
            return cost(candidates[b], weights[b]) < cost(candidates[a], weights[a]) ? candidates[b] : candidates[a];
        };
    }

    private static double cost(ServerState server, int weight) {
        double ewma = server.ewmaNanos();
        return (ewma > 0 ? ewma : UNMEASURED_COST_NANOS) * (server.inFlight() + 1) / weight;
    }

    private static int index(AtomicLong sequence, int bound) {
        return (int) (sequence.getAndIncrement() % bound);
    }

    /** Used by the pick path when a picker's choice was excluded: the least loaded of the others. */
    public static ServerState leastLoadedNotExcluded(ServerState[] candidates, PickContext context) {
        int n = candidates.length;
        int start = ThreadLocalRandom.current().nextInt(n);
        ServerState best = null;
        for (int k = 0; k < n; k++) {
            ServerState s = candidates[(start + k) % n];
            if (!context.isExcluded(s.id()) && (best == null || s.inFlight() < best.inFlight())) {
                best = s;
            }
        }
        return best;
    }
}
