package dev.fairload.lb.benchmarks;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.PickContext;
import dev.fairload.lb.Server;
import dev.fairload.lb.Strategy;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Data shared by the benchmarks: servers, balancers and pick contexts, built deterministically from a seed.
 *
 * <p>Server addresses are taken from 127.0.0.0/8 and are only data: no benchmark opens a connection.
 */
final class Fixtures {
    /** Every benchmark uses the same seed, so runs see the same weights, addresses and keys. */
    static final long SEED = 20_260_101L;

    private Fixtures() {}

    /** The {@code index}-th server: address {@code 127.x.y.z}, port 8080, a fixed id and the given weight. */
    static Server server(int index, int weight) {
        int n = index + 1;
        String host = "127." + ((n >>> 16) & 0xff) + "." + ((n >>> 8) & 0xff) + "." + (n & 0xff);
        return Server.builder(host, 8080)
                .id(String.format(Locale.ROOT, "s%06d", index))
                .weight(weight)
                .build();
    }

    /**
     * A balancer over {@code servers} healthy servers with weights drawn uniformly from 1-10.
     *
     * <p>The pool is filled under {@code round_robin} and then switched to {@code strategy}, so the strategy's
     * tables (a Maglev table, a weighted schedule) are built once rather than once per added server.
     */
    static LoadBalancer balancer(String strategy, int servers) {
        SplittableRandom random = new SplittableRandom(SEED);
        LoadBalancer.Builder builder = LoadBalancer.builder().name("bench").strategy(Strategy.roundRobin());
        for (int i = 0; i < servers; i++) {
            builder.addServer(server(i, 1 + random.nextInt(10)));
        }
        LoadBalancer lb = builder.build();
        lb.strategy(Strategy.byName(strategy));
        return lb;
    }

    /**
     * {@code count} contexts, each with a distinct client address (for {@code ip_hash}) and hash key (for {@code
     * consistent_hash}). {@code count} must be a power of two so callers can cycle with a mask.
     */
    static PickContext[] contexts(int count) {
        if (Integer.bitCount(count) != 1) {
            throw new IllegalArgumentException("count: " + count + " (expected: a power of two)");
        }
        SplittableRandom random = new SplittableRandom(SEED + 1);
        PickContext[] contexts = new PickContext[count];
        for (int i = 0; i < count; i++) {
            int a = random.nextInt(1 << 24);
            String client = "127." + (a >>> 16) + "." + ((a >>> 8) & 0xff) + "." + (a & 0xff);
            contexts[i] = PickContext.builder()
                    .clientAddress(client)
                    .hashKey("user-" + Long.toHexString(random.nextLong()))
                    .build();
        }
        return contexts;
    }

    /** {@code count} response latencies between 0.5 and 5 ms, as the outcome a lease is completed with. */
    static long[] latencies(int count) {
        SplittableRandom random = new SplittableRandom(SEED + 2);
        long[] latencies = new long[count];
        for (int i = 0; i < count; i++) {
            latencies[i] = random.nextLong(500_000, 5_000_001);
        }
        return latencies;
    }
}
