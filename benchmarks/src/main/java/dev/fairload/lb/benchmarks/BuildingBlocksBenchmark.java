package dev.fairload.lb.benchmarks;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The JDK operations that a pick and the completion of its lease are made of, timed on the machine at hand, so
 * that {@link PickBenchmark}'s numbers can be read as a sum of parts: a pick and completion reads the clock twice,
 * updates about a dozen atomic counters, writes a few volatile fields and computes one exponential (the latency
 * EWMA's decay).
 *
 * <p>The counters are shared by all benchmark threads: with {@code -t 2} the atomic increment shows what one
 * shared counter costs when two threads update it, which is what balancer-wide counters cost under load. Read the other operations with {@code -t 1} only.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(2)
@State(Scope.Benchmark)
public class BuildingBlocksBenchmark {
    private final AtomicLong counter = new AtomicLong();
    private final LongAdder adder = new LongAdder();
    private volatile long volatileField;
    private long plainField;
    private double elapsedOverDecay = 0.0001;

    /** One reading of the monotonic clock, as {@code Ticker.system()} does. */
    @Benchmark
    public long nanoTime() {
        return System.nanoTime();
    }

    /** One atomic increment of a counter all threads share. */
    @Benchmark
    public long atomicIncrement() {
        return counter.incrementAndGet();
    }

    /** One increment of a striped counter all threads share. */
    @Benchmark
    public void longAdderIncrement() {
        adder.increment();
    }

    /** One volatile write (a full fence on x86). */
    @Benchmark
    public void volatileWrite() {
        volatileField = ++plainField;
    }

    /** One exponential, as the EWMA decay computes per completion. */
    @Benchmark
    public double exp() {
        return Math.exp(-elapsedOverDecay);
    }
}
