package dev.fairload.lb.benchmarks;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatFactory;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;
import org.openjdk.jmh.util.Statistics;

/**
 * Runs the lb-core benchmarks with the settings behind {@code docs/benchmarks.md} and writes medians as Markdown
 * tables, so a run can be compared with the published one line by line.
 *
 * <pre>{@code
 * java -cp benchmarks/target/benchmarks.jar dev.fairload.lb.benchmarks.CoreBenchmarks OUTPUT_DIR [--quick] [PHASE...]
 * }</pre>
 *
 * <p>Phases (all by default, in this order):
 *
 * <ul>
 *   <li>{@code pick}: {@link PickBenchmark#pickAndComplete} for every strategy and pool size, with one and then two
 *       threads back to back for each configuration, so both see the same machine load; 2 forks of 2 warm-up and
 *       3 measured iterations of 1 s.
 *   <li>{@code alloc}: {@link PickBenchmark#pickAndComplete} and {@link PickBenchmark#pickAndClose}, one thread,
 *       with JMH's GC profiler; 1 fork of 2 + 3 iterations of 1 s.
 *   <li>{@code pool}: {@link PoolChangeBenchmark} per strategy at 10,000 servers; 1 fork of 2 + 3 iterations of 1 s.
 *   <li>{@code blocks}: {@link BuildingBlocksBenchmark}, one thread, and its shared atomic increment with two; 2
 *       forks of 2 + 3 iterations of 1 s.
 * </ul>
 *
 * <p>Output in OUTPUT_DIR: {@code jmh.log} (JMH's console output), {@code PHASE.json} (JMH's JSON results) and
 * {@code summary.md}. The medians are over all measured iterations of all forks ({@code pick}, {@code alloc}) or over
 * all sampled changes ({@code pool}). {@code --quick} shortens everything to a smoke test whose numbers mean nothing.
 */
public final class CoreBenchmarks {
    static final List<String> STRATEGIES = List.of(
            "round_robin",
            "weighted",
            "random",
            "power_of_two",
            "ip_hash",
            "consistent_hash",
            "least_connections",
            "least_response_time");
    static final List<Integer> SIZES = List.of(10, 1_000, 10_000);
    static final List<String> PHASES = List.of("pick", "alloc", "pool", "blocks");

    private final Path out;
    private final boolean quick;
    private final PrintStream log;
    private final StringBuilder summary = new StringBuilder();

    private CoreBenchmarks(Path out, boolean quick, PrintStream log) {
        this.out = out;
        this.quick = quick;
        this.log = log;
    }

    public static void main(String[] args) throws IOException, RunnerException {
        if (args.length == 0) {
            System.err.println("usage: CoreBenchmarks OUTPUT_DIR [--quick] [" + String.join("] [", PHASES) + "]");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        Files.createDirectories(out);
        boolean quick = false;
        List<String> phases = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            if (args[i].equals("--quick")) {
                quick = true;
            } else if (PHASES.contains(args[i])) {
                phases.add(args[i]);
            } else {
                System.err.println("unknown argument: " + args[i]);
                System.exit(2);
            }
        }
        if (phases.isEmpty()) {
            phases = PHASES;
        }
        try (PrintStream log = new PrintStream(
                new Tee(System.out, new FileOutputStream(out.resolve("jmh.log").toFile(), true)),
                true,
                StandardCharsets.UTF_8)) {
            CoreBenchmarks run = new CoreBenchmarks(out, quick, log);
            for (String phase : phases) {
                switch (phase) {
                    case "pick" -> run.pick();
                    case "alloc" -> run.alloc();
                    case "pool" -> run.pool();
                    case "blocks" -> run.blocks();
                    default -> throw new AssertionError(phase);
                }
            }
            Files.writeString(out.resolve("summary.md"), run.summary.toString(), StandardCharsets.UTF_8);
            log.println();
            log.print(run.summary);
        }
    }

    /** Time per pick and completion, one and two threads, every strategy and size. */
    private void pick() throws RunnerException, IOException {
        List<RunResult> all = new ArrayList<>();
        Map<String, double[]> rows = new TreeMap<>();
        for (int servers : SIZES) {
            for (String strategy : STRATEGIES) {
                double[] row = new double[7];
                row[6] = loadAverage();
                for (int threads = 1; threads <= 2; threads++) {
                    RunResult result = run(options(PickBenchmark.class, "pickAndComplete", 2)
                            .param("strategy", strategy)
                            .param("servers", String.valueOf(servers))
                            .threads(threads));
                    all.add(result);
                    Statistics stats = result.getPrimaryResult().getStatistics();
                    int at = (threads - 1) * 3;
                    row[at] = stats.getPercentile(50);
                    row[at + 1] = stats.getMin();
                    row[at + 2] = stats.getMax();
                }
                rows.put(key(strategy, servers), row);
            }
        }
        write("pick", all);
        summary.append("## pick + complete, ns per pick (median of iterations; min-max)\n\n")
                .append("| strategy | servers | 1 thread | 2 threads | 2 threads / 1 thread | load |\n")
                .append("|---|---:|---:|---:|---:|---:|\n");
        for (String strategy : STRATEGIES) {
            for (int servers : SIZES) {
                double[] r = rows.get(key(strategy, servers));
                summary.append(String.format(
                        Locale.ROOT,
                        "| %s | %,d | %.1f (%.1f-%.1f) | %.1f (%.1f-%.1f) | %.2f | %.1f |%n",
                        strategy,
                        servers,
                        r[0],
                        r[1],
                        r[2],
                        r[3],
                        r[4],
                        r[5],
                        r[3] / r[0],
                        r[6]));
            }
        }
        summary.append("\nload: the machine's 1-minute load average when the configuration started (")
                .append(Runtime.getRuntime().availableProcessors())
                .append(" processors).\n\n");
    }

    /** Heap allocated per operation, and the time of a pick with and without recording an outcome. */
    private void alloc() throws RunnerException, IOException {
        List<RunResult> all = new ArrayList<>();
        Map<String, double[]> rows = new TreeMap<>();
        for (int servers : SIZES) {
            for (String strategy : STRATEGIES) {
                double[] row = new double[4];
                int at = 0;
                for (String method : List.of("pickAndComplete", "pickAndClose")) {
                    RunResult result = run(options(PickBenchmark.class, method, 1)
                            .param("strategy", strategy)
                            .param("servers", String.valueOf(servers))
                            .threads(1)
                            .addProfiler("gc"));
                    all.add(result);
                    Result<?> norm = result.getSecondaryResults().get("gc.alloc.rate.norm");
                    row[at++] = result.getPrimaryResult().getStatistics().getPercentile(50);
                    row[at++] = norm == null ? Double.NaN : norm.getScore();
                }
                rows.put(key(strategy, servers), row);
            }
        }
        write("alloc", all);
        summary.append("## allocation per operation (JMH -prof gc, gc.alloc.rate.norm), 1 thread\n\n")
                .append("| strategy | servers | pick + complete: B/op | ns/op | pick + close: B/op | ns/op |\n")
                .append("|---|---:|---:|---:|---:|---:|\n");
        for (String strategy : STRATEGIES) {
            for (int servers : SIZES) {
                double[] r = rows.get(key(strategy, servers));
                summary.append(String.format(
                        Locale.ROOT,
                        "| %s | %,d | %.1f | %.1f | %.1f | %.1f |%n",
                        strategy,
                        servers,
                        r[1],
                        r[0],
                        r[3],
                        r[2]));
            }
        }
        summary.append('\n');
    }

    /** Time to add or remove one server in a pool of 10,000. */
    private void pool() throws RunnerException, IOException {
        List<RunResult> all = new ArrayList<>();
        summary.append("## add or remove one server at 10,000 servers, ms per change (sampled)\n\n")
                .append("| strategy | change | samples | median | p90 | p99 | max | load |\n")
                .append("|---|---|---:|---:|---:|---:|---:|---:|\n");
        for (String strategy : STRATEGIES) {
            for (String method : List.of("add", "remove")) {
                double load = loadAverage();
                RunResult result =
                        run(options(PoolChangeBenchmark.class, method, 1).param("strategy", strategy));
                all.add(result);
                Statistics s = result.getPrimaryResult().getStatistics();
                summary.append(String.format(
                        Locale.ROOT,
                        "| %s | %s | %d | %.2f | %.2f | %.2f | %.2f | %.1f |%n",
                        strategy,
                        method,
                        s.getN(),
                        s.getPercentile(50),
                        s.getPercentile(90),
                        s.getPercentile(99),
                        s.getMax(),
                        load));
            }
        }
        summary.append('\n');
        write("pool", all);
    }

    /** The JDK operations a pick is made of, for reading the pick table. */
    private void blocks() throws RunnerException, IOException {
        List<RunResult> all = new ArrayList<>();
        summary.append("## building blocks, ns per operation (median of iterations)\n\n")
                .append("| operation | threads | ns/op |\n")
                .append("|---|---:|---:|\n");
        List<String> methods = List.of("nanoTime", "atomicIncrement", "longAdderIncrement", "volatileWrite", "exp");
        for (String method : methods) {
            for (int threads = 1; threads <= (method.equals("atomicIncrement") ? 2 : 1); threads++) {
                RunResult result =
                        run(options(BuildingBlocksBenchmark.class, method, 2).threads(threads));
                all.add(result);
                summary.append(String.format(
                        Locale.ROOT,
                        "| %s | %d | %.1f |%n",
                        method,
                        threads,
                        result.getPrimaryResult().getStatistics().getPercentile(50)));
            }
        }
        summary.append('\n');
        write("blocks", all);
    }

    private ChainedOptionsBuilder options(Class<?> benchmark, String method, int forks) {
        ChainedOptionsBuilder options = new OptionsBuilder()
                .include("^" + benchmark.getName().replace(".", "\\.") + "\\." + method + "$")
                .shouldFailOnError(true);
        if (quick) {
            return options.forks(1)
                    .warmupIterations(1)
                    .warmupTime(TimeValue.milliseconds(100))
                    .measurementIterations(1)
                    .measurementTime(TimeValue.milliseconds(200));
        }
        return options.forks(forks)
                .warmupIterations(2)
                .warmupTime(TimeValue.seconds(1))
                .measurementIterations(3)
                .measurementTime(TimeValue.seconds(1));
    }

    private RunResult run(ChainedOptionsBuilder options) throws RunnerException {
        Collection<RunResult> results =
                new Runner(options.build(), OutputFormatFactory.createFormatInstance(log, VerboseMode.NORMAL)).run();
        if (results.size() != 1) {
            throw new IllegalStateException("expected one result, got " + results.size());
        }
        return results.iterator().next();
    }

    private void write(String phase, Collection<RunResult> results) {
        ResultFormatFactory.getInstance(
                        ResultFormatType.JSON, out.resolve(phase + ".json").toString())
                .writeOut(results);
    }

    /** The 1-minute load average, or NaN where the platform does not report it. */
    private static double loadAverage() {
        return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }

    private static String key(String strategy, int servers) {
        return strategy + "/" + servers;
    }

    /** Writes to two streams. */
    private static final class Tee extends OutputStream {
        private final OutputStream first;
        private final OutputStream second;

        Tee(OutputStream first, OutputStream second) {
            this.first = first;
            this.second = second;
        }

        @Override
        public void write(int b) throws IOException {
            first.write(b);
            second.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            first.write(b, off, len);
            second.write(b, off, len);
        }

        @Override
        public void flush() throws IOException {
            first.flush();
            second.flush();
        }

        @Override
        public void close() throws IOException {
            second.close();
        }
    }
}
