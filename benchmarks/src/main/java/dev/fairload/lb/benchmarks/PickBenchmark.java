package dev.fairload.lb.benchmarks;

import dev.fairload.lb.Lease;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.PickContext;
import dev.fairload.lb.Server;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The request path: one {@link LoadBalancer#pick(PickContext)} plus the completion of its lease, per strategy and
 * pool size, all servers healthy.
 *
 * <p>One operation picks with a context taken from a pre-built array (a distinct client address and hash key per
 * entry, so building them is not measured), then completes the lease with status 200 and a latency from another
 * pre-built array. Run with {@code -t 1} and {@code -t 2}: with two threads both pick from the same balancer, as
 * two request threads of one application would, and the score is the time per pick seen by each thread.
 *
 * <p>{@link #pickAndComplete} is the measurement the performance goals refer to; {@link #pickAndClose} splits
 * off the cost of recording the outcome.
 *
 * <p>Weights are drawn from 1-10, so {@code weighted}, the hashing strategies and the load-aware ones see
 * unequal servers. With {@code -prof gc}, {@code gc.alloc.rate.norm} is the heap allocated per pick and
 * completion.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(2)
public class PickBenchmark {
    /** Size of the context and latency arrays: a power of two, larger than any cache-friendly pattern. */
    private static final int KEYS = 4096;

    /** The balancer under test, shared by all benchmark threads. */
    @State(Scope.Benchmark)
    public static class Balancer {
        @Param({
            "round_robin",
            "weighted",
            "random",
            "power_of_two",
            "ip_hash",
            "consistent_hash",
            "least_connections",
            "least_response_time"
        })
        public String strategy;

        @Param({"10", "1000", "10000"})
        public int servers;

        LoadBalancer lb;
        PickContext[] contexts;
        long[] latencies;

        @Setup(Level.Trial)
        public void setUp() {
            lb = Fixtures.balancer(strategy, servers);
            contexts = Fixtures.contexts(KEYS);
            latencies = Fixtures.latencies(KEYS);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            if (lb.metrics().inFlight() != 0) {
                throw new IllegalStateException(
                        "leases left open: " + lb.metrics().inFlight());
            }
            lb.close();
        }
    }

    /** Each thread walks the pre-built arrays from its own position. */
    @State(Scope.Thread)
    public static class Cursor {
        private int next;

        @Setup(Level.Trial)
        public void setUp() {
            next = (int) (Thread.currentThread().getId() * 997);
        }

        int next() {
            return next++ & (KEYS - 1);
        }
    }

    /** Pick and complete; returns the picked server so the work cannot be eliminated. */
    @Benchmark
    public Server pickAndComplete(Balancer balancer, Cursor cursor) {
        int i = cursor.next();
        Lease lease = balancer.lb.pick(balancer.contexts[i]);
        lease.complete(200, balancer.latencies[i]);
        return lease.server();
    }

    /**
     * Pick and close without an outcome, which releases the in-flight count and records nothing else: the pick's
     * own share of {@link #pickAndComplete}. The difference between the two is the cost of recording an outcome
     * (per-server counters and latency, balancer-wide metrics).
     */
    @Benchmark
    public Server pickAndClose(Balancer balancer, Cursor cursor) {
        Lease lease = balancer.lb.pick(balancer.contexts[cursor.next()]);
        lease.close();
        return lease.server();
    }
}
