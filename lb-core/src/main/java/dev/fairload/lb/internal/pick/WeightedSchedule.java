package dev.fairload.lb.internal.pick;

import java.util.Arrays;

/**
 * Precomputes one cycle of smooth weighted round robin, so that a pick is one array read at a rotating index:
 * lock-free, allocation-free and O(1).
 *
 * <p>Algorithm: earliest-deadline-first stride scheduling. Server i's k-th turn in a cycle has the deadline
 * (k + 1/2) / w_i; the cycle lists all turns by deadline (ties by index). Each server gets exactly its weight
 * in every cycle of W = sum(w) picks, and its turns are spread evenly (the Sainte-Lague apportionment, which
 * has the same shares and smoothness as nginx's smooth weighted round robin): weights 5, 3, 2 give
 * {@code a b c a a b a c b a}.
 *
 * <p>Size: weights are first divided by their greatest common divisor. If the cycle would still exceed
 * {@link #MAX_CYCLE} entries (only with thousands of servers of very different weights), weights are scaled
 * down proportionally (each at least 1), which keeps shares within 1/MAX_CYCLE of exact. Building is a
 * bucket sort of the W turns by deadline: O(W + n) on the control plane.
 */
final class WeightedSchedule {
    static final int MAX_CYCLE = 1 << 20;

    private WeightedSchedule() {}

    static int[] build(int[] weights) {
        int n = weights.length;
        int[] w = reduce(weights);
        long total = 0;
        for (int x : w) {
            total += x;
        }
        int cycle = (int) total;
        // Turn k of server i has the deadline (2k + 1) / (2 w_i), in (0, 1); bucket b holds deadlines in
        // [b / W, (b + 1) / W). Counting sort by bucket, then order within each (small) bucket exactly.
        int[] start = new int[cycle + 1];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < w[i]; k++) {
                start[bucket(k, w[i], cycle) + 1]++;
            }
        }
        for (int b = 0; b < cycle; b++) {
            start[b + 1] += start[b];
        }
        int[] next = java.util.Arrays.copyOf(start, cycle);
        int[] server = new int[cycle];
        int[] turn = new int[cycle];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < w[i]; k++) {
                int at = next[bucket(k, w[i], cycle)]++;
                server[at] = i;
                turn[at] = k;
            }
        }
        for (int b = 0; b < cycle; b++) {
            sortBucket(server, turn, w, start[b], start[b + 1]);
        }
        return server;
    }

    private static int bucket(int turn, int weight, int cycle) {
        return (int) ((2L * turn + 1) * cycle / (2L * weight));
    }

    /** Insertion sort by deadline, then server index. Buckets hold about one turn on average. */
    private static void sortBucket(int[] server, int[] turn, int[] w, int from, int to) {
        for (int j = from + 1; j < to; j++) {
            int s = server[j];
            int k = turn[j];
            int i = j - 1;
            while (i >= from && before(s, k, server[i], turn[i], w)) {
                server[i + 1] = server[i];
                turn[i + 1] = turn[i];
                i--;
            }
            server[i + 1] = s;
            turn[i + 1] = k;
        }
    }

    private static boolean before(int a, int turnA, int b, int turnB, int[] w) {
        long lhs = (2L * turnA + 1) * w[b];
        long rhs = (2L * turnB + 1) * w[a];
        return lhs < rhs || (lhs == rhs && a < b);
    }

    /** Divides by the gcd, then scales down if the cycle would be longer than {@link #MAX_CYCLE}. */
    static int[] reduce(int[] weights) {
        int g = 0;
        long total = 0;
        for (int x : weights) {
            g = gcd(g, x);
            total += x;
        }
        int[] w = Arrays.copyOf(weights, weights.length);
        for (int i = 0; i < w.length; i++) {
            w[i] /= g;
        }
        total /= g;
        if (total > MAX_CYCLE) {
            double scale = (double) (MAX_CYCLE - w.length) / total;
            for (int i = 0; i < w.length; i++) {
                w[i] = Math.max(1, (int) (w[i] * scale));
            }
        }
        return w;
    }

    private static int gcd(int a, int b) {
        while (b != 0) {
            int t = a % b;
            a = b;
            b = t;
        }
        return a;
    }
}
