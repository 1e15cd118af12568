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
 * down proportionally (each at least 1), which keeps shares within 1/MAX_CYCLE of exact. Building costs
 * O(W log n) on the control plane.
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
        int[] schedule = new int[cycle];
        int[] turns = new int[n];
        // Binary min-heap of server indices ordered by next deadline (2 turns + 1) / (2 w).
        int[] heap = new int[n];
        for (int i = 0; i < n; i++) {
            heap[i] = i;
        }
        for (int i = n / 2 - 1; i >= 0; i--) {
            siftDown(heap, n, i, turns, w);
        }
        for (int k = 0; k < cycle; k++) {
            int top = heap[0];
            schedule[k] = top;
            turns[top]++;
            siftDown(heap, n, 0, turns, w);
        }
        return schedule;
    }

    private static boolean before(int a, int b, int[] turns, int[] w) {
        long lhs = (2L * turns[a] + 1) * w[b];
        long rhs = (2L * turns[b] + 1) * w[a];
        return lhs < rhs || (lhs == rhs && a < b);
    }

    private static void siftDown(int[] heap, int size, int i, int[] turns, int[] w) {
        int item = heap[i];
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && before(heap[child + 1], heap[child], turns, w)) {
                child++;
            }
            if (!before(heap[child], item, turns, w)) {
                break;
            }
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = item;
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
