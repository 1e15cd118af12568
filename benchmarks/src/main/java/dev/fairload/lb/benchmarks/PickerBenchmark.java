package dev.fairload.lb.benchmarks;

import dev.fairload.lb.PickContext;
import dev.fairload.lb.ServerStatus;
import dev.fairload.lb.internal.ServerState;
import dev.fairload.lb.internal.pick.Picker;
import dev.fairload.lb.internal.pick.PickerFactory;
import dev.fairload.lb.internal.pick.Pickers;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * The strategy's decision alone: one {@code Picker.pick} over a snapshot's candidates, without the lease that
 * {@code LoadBalancer.pick} wraps around it. With {@code -prof gc}, {@code gc.alloc.rate.norm} shows what the
 * decision allocates (the lease of a full pick is a separate, fixed 32 bytes).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class PickerBenchmark {
    private static final int KEYS = 4096;

    @Param({"round_robin", "weighted", "power_of_two", "ip_hash", "consistent_hash", "random"})
    public String strategy;

    @Param({"10", "10000"})
    public int servers;

    private Picker picker;
    private PickContext[] contexts;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom random = new SplittableRandom(Fixtures.SEED);
        ServerState[] candidates = new ServerState[servers];
        int[] weights = new int[servers];
        for (int i = 0; i < servers; i++) {
            weights[i] = 1 + random.nextInt(10);
            candidates[i] = new ServerState(Fixtures.server(i, weights[i]), ServerStatus.HEALTHY);
        }
        Supplier<PickerFactory> factory = switch (strategy) {
            case "round_robin" -> Pickers::roundRobin;
            case "weighted" -> Pickers::weighted;
            case "power_of_two" -> Pickers::powerOfTwo;
            case "ip_hash" -> Pickers::ipHash;
            case "consistent_hash" -> Pickers::consistentHash;
            case "random" -> Pickers::random;
            default -> throw new IllegalArgumentException("strategy: " + strategy);
        };
        picker = factory.get().newPicker(candidates, weights);
        contexts = Fixtures.contexts(KEYS);
    }

    @Benchmark
    public ServerState pick() {
        return picker.pick(contexts[next++ & (KEYS - 1)]);
    }
}
