package dev.fairload.lb.internal.pick;

import dev.fairload.lb.internal.ServerState;

/**
 * Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load Balancer",
 * NSDI 2016), with weights as in Envoy's implementation.
 *
 * <p>Each server has a permutation of the table's slots derived from the hash of its address ({@code
 * host:port}). Servers take turns claiming their next free preferred slot until the table is full; a server of
 * weight w takes a turn in proportion to w / max weight. A key maps to {@code table[hash(key) mod M]}.
 *
 * <p>Agreement: the turns are taken in the order of the servers' addresses ({@code host:port} as a string), not
 * in the order the pool holds them, so the table is a function of the set of addresses and their weights alone:
 * separate balancer instances with the same servers and weights build the same table, whatever order the
 * servers were added or discovered in.
 *
 * <p>Disruption: Maglev does not promise minimal disruption (the paper, section 3.4, trades it for even
 * shares). Removing one of n servers moves every key of that server and a few others: the permutations of the
 * remaining servers are unchanged, but their claims shift where a removed server's claim used to win a slot.
 * With 10 servers, about 1/10 of the keys move and well under 1/100 more.
 *
 * <p>Size: the table size M is the smallest prime of at least 10 slots per server (and at least 65,537). Maglev's turns give
 * every server of equal weight either floor(M/n) or ceil(M/n) slots, so shares stay within 1/10 of each other
 * at the largest pools and far closer at small ones. Building costs about O(M log M) probes on the control
 * plane, over a bitmap of taken slots that stays in cache; a pick is one hash and one array read.
 */
final class Maglev {
    private static final int MIN_TABLE_SIZE = 65_537;

    private Maglev() {}

    /** The smallest prime of at least 10 slots per server, and at least 65,537. */
    static int tableSize(int servers) {
        long wanted = Math.max(MIN_TABLE_SIZE, 10L * servers);
        return java.math.BigInteger.valueOf(wanted - 1).nextProbablePrime().intValueExact();
    }

    /**
     * A built table: slots hold server indices, as 16-bit chars up to 65,536 servers (half the memory, so more of
     * it stays in cache on the pick path) and as ints beyond.
     */
    static final class Table {
        private final char[] small;
        private final int[] large;
        private final int size;

        Table(int[] slots, int servers) {
            this.size = slots.length;
            if (servers <= 1 << 16) {
                small = new char[size];
                for (int i = 0; i < size; i++) {
                    small[i] = (char) slots[i];
                }
                large = null;
            } else {
                small = null;
                large = slots;
            }
        }

        /** The index of the server for this key hash. */
        int server(long keyHash) {
            int slot = Hashing.index(keyHash, size);
            return small != null ? small[slot] : large[slot];
        }
    }

    static Table table(ServerState[] servers, int[] weights) {
        return new Table(build(servers, weights), servers.length);
    }

    /**
     * The indices of {@code servers} in the order of their addresses: the order of turns, so that it does not
     * depend on the order of the array.
     */
    static int[] addressOrder(ServerState[] servers) {
        return java.util.stream.IntStream.range(0, servers.length)
                .boxed()
                .sorted(java.util.Comparator.comparing(i -> servers[i].server().authority()))
                .mapToInt(Integer::intValue)
                .toArray();
    }

    static int[] build(ServerState[] servers, int[] weights) {
        int n = servers.length;
        int m = tableSize(n);
        int[] order = addressOrder(servers);
        int[] position = new int[n];
        int[] skip = new int[n];
        int maxWeight = 1;
        for (int i = 0; i < n; i++) {
            long h = servers[i].addressHash();
            position[i] = Hashing.index(h, m);
            skip[i] = Hashing.index(Hashing.mix(h ^ 0x5851f42d4c957f2dL), m - 1) + 1;
            maxWeight = Math.max(maxWeight, weights[i]);
        }
        int[] table = new int[m];
        long[] taken = new long[(m + 63) >>> 6];
        long[] claimed = new long[n];
        int filled = 0;
        for (long round = 1; filled < m; round++) {
            for (int turn = 0; turn < n && filled < m; turn++) {
                int i = order[turn];
                // A weighted turn: claimed/round stays at weight/maxWeight.
                if (claimed[i] * maxWeight >= round * weights[i]) {
                    continue;
                }
                int slot = position[i];
                while ((taken[slot >>> 6] & (1L << slot)) != 0) {
                    slot += skip[i];
                    if (slot >= m) {
                        slot -= m;
                    }
                }
                taken[slot >>> 6] |= 1L << slot;
                table[slot] = i;
                slot += skip[i];
                position[i] = slot >= m ? slot - m : slot;
                claimed[i]++;
                filled++;
            }
        }
        return table;
    }
}
