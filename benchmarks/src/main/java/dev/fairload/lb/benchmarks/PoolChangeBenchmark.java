package dev.fairload.lb.benchmarks;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.ServerPool;
import dev.fairload.lb.ServerView;
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
 * The control plane: adding or removing one server in a pool of {@code servers} healthy servers, measured from the
 * call until it returns, by which time the new snapshot (with the strategy's rebuilt tables) is published.
 *
 * <p>Before each timed add a spare server is made absent, and before each timed remove it is made present; these
 * preparations are not timed. Sample mode records every change, so the percentiles are those of single changes. No
 * pick runs at the same time.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PoolChangeBenchmark {

    /** A pool of {@code servers} servers and one spare server that the benchmarks add and remove. */
    @State(Scope.Benchmark)
    public static class Pool {
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

        @Param({"10000"})
        public int servers;

        LoadBalancer lb;
        ServerPool pool;
        Server spare;

        @Setup(Level.Trial)
        public void setUp() {
            lb = Fixtures.balancer(strategy, servers);
            pool = lb.pool();
            spare = Fixtures.server(servers, 5);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            lb.close();
        }

        void ensureSpare(boolean present) {
            boolean now = pool.get(spare.id()).isPresent();
            if (present && !now) {
                pool.add(spare);
            } else if (!present && now) {
                pool.remove(spare.id());
            }
        }
    }

    /** Adding: the spare server is absent before each timed add. */
    @State(Scope.Thread)
    public static class SpareAbsent {
        @Setup(Level.Invocation)
        public void prepare(Pool pool) {
            pool.ensureSpare(false);
        }
    }

    /** Removing: the spare server is present before each timed remove. */
    @State(Scope.Thread)
    public static class SparePresent {
        @Setup(Level.Invocation)
        public void prepare(Pool pool) {
            pool.ensureSpare(true);
        }
    }

    /** Adds one server to the pool; returns when the new snapshot is published. */
    @Benchmark
    public ServerView add(Pool pool, SpareAbsent absent) {
        return pool.pool.add(pool.spare);
    }

    /** Removes one server from the pool; returns when the new snapshot is published. */
    @Benchmark
    public Server remove(Pool pool, SparePresent present) {
        return pool.pool.remove(pool.spare.id());
    }
}
