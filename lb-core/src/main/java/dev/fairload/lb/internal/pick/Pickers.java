package dev.fairload.lb.internal.pick;

import dev.fairload.lb.PickContext;
import dev.fairload.lb.internal.ServerState;
import java.util.Arrays;
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

    /**
     * Fewest requests in flight per weight, compared as nginx's {@code least_conn} does ({@code inFlight / weight},
     * in integers). Among equals the first from a starting point wins: the next in rotation, or, in a pool of at most
     * {@value #LEAST_CONNECTIONS_WINDOW} servers with unequal weights, one drawn in proportion to weight. So idle
     * servers share requests by weight there (3:1 weights get 3:1 of sequential requests), and busy ones by load.
     */
    public static PickerFactory leastConnections() {
        AtomicLong sequence = new AtomicLong();
        return (candidates, weights) -> {
            // A drawn start jumps around the candidates, which costs cache misses in a large pool: only where the
            // scan covers every candidate anyway.
            long[] cumulative = candidates.length <= LEAST_CONNECTIONS_WINDOW ? cumulativeIfUnequal(weights) : null;
            return context -> {
                int n = candidates.length;
                int start = cumulative == null ? index(sequence, n) : drawByWeight(cumulative);
                int scan = Math.min(n, LEAST_CONNECTIONS_WINDOW);
                int best = start;
                long bestLoad = candidates[start].inFlight();
                for (int k = 1; k < scan; k++) {
                    int i = start + k;
                    if (i >= n) {
                        i -= n;
                    }
                    long load = candidates[i].inFlight();
                    if (load * weights[best] < bestLoad * weights[i]) {
                        best = i;
                        bestLoad = load;
                    }
                }
                return candidates[best];
            };
        };
    }

    /** Running sums of the weights, or null when all weights are equal (a plain rotation is then exact and cheaper). */
    private static long[] cumulativeIfUnequal(int[] weights) {
        boolean equal = true;
        for (int w : weights) {
            equal &= w == weights[0];
        }
        if (equal) {
            return null;
        }
        long[] cumulative = new long[weights.length];
        long sum = 0;
        for (int i = 0; i < weights.length; i++) {
            sum += weights[i];
            cumulative[i] = sum;
        }
        return cumulative;
    }

    /** An index drawn with probability weight / total, in O(log n). */
    private static int drawByWeight(long[] cumulative) {
        long r = ThreadLocalRandom.current().nextLong(cumulative[cumulative.length - 1]);
        int i = Arrays.binarySearch(cumulative, r);
        return i >= 0 ? i + 1 : -i - 1;
    }

    /** Marks a factory as hashing: zone-aware routing leaves it alone. */
    private static PickerFactory hashing(PickerFactory factory) {
        return new PickerFactory() {
            @Override
            public Picker newPicker(ServerState[] candidates, int[] weights) {
                return factory.newPicker(candidates, weights);
            }

            @Override
            public boolean hashing() {
                return true;
            }
        };
    }

    public static PickerFactory ipHash() {
        return hashing((candidates, weights) -> {
            Maglev.Table table = Maglev.table(candidates, weights);
            return context -> {
                String address = context.clientAddress();
                return address == null
                        ? candidates[ThreadLocalRandom.current().nextInt(candidates.length)]
                        : candidates[table.server(Hashing.hash(address))];
            };
        });
    }

    public static PickerFactory consistentHash() {
        return hashing((candidates, weights) -> {
            Maglev.Table table = Maglev.table(candidates, weights);
            return context -> {
                String key = context.hashKey() != null ? context.hashKey() : context.clientAddress();
                return key == null
                        ? candidates[ThreadLocalRandom.current().nextInt(candidates.length)]
                        : candidates[table.server(Hashing.hash(key))];
            };
        });
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
