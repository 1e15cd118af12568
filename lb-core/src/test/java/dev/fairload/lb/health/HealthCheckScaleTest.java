package dev.fairload.lb.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.ServerStatus;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * 10,000 servers (one local port each) checked every second: every one must keep being checked, with a handful of
 * threads. Prints the checks done, the threads and the CPU time used, which docs/benchmarks.md records. The
 * deadlines are generous so that a loaded machine (other builds on two cores) cannot fail it: how fast checks run
 * is a figure for the benchmarks, not an assertion.
 */
class HealthCheckScaleTest {
    private static final int SERVERS = Integer.getInteger("scale.servers", 10_000);
    /** Backends run in child processes of 5,000 ports each, so no process nears its file-descriptor limit. */
    private static final int PER_PROCESS = Math.min(SERVERS, 5_000);

    @Test
    @Timeout(300)
    void tenThousandServers_allCheckedEveryInterval() throws Exception {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        try (Backends backends = new Backends(SERVERS / PER_PROCESS)) {
            LoadBalancer.Builder b = LoadBalancer.builder()
                    .name("scale")
                    .activeHealthCheck(ActiveHealthCheck.builder()
                            .interval(Duration.ofSeconds(1))
                            .timeout(Duration.ofMillis(900))
                            .build());
            for (int i = 0; i < SERVERS; i++) {
                b.addServer(Server.builder("127.0.0.1", backends.ports[i])
                        .id("s" + i)
                        .build());
            }
            try (LoadBalancer lb = b.build()) {
                awaitAllHealthy(lb);
                int[] before = passedChecks(lb);
                long cpuBefore = checkerCpuNanos(threads);
                long start = System.nanoTime();
                // About five intervals on a quiet machine (with 10% jitter every server gets four checks in five
                // seconds); the deadline leaves room for a loaded one.
                await().pollInterval(Duration.ofMillis(500))
                        .atMost(90, TimeUnit.SECONDS)
                        .until(() -> fewest(before, passedChecks(lb)) >= 4);
                long elapsed = System.nanoTime() - start;
                int[] after = passedChecks(lb);
                long cpu = checkerCpuNanos(threads) - cpuBefore;
                long checks = 0;
                int fewest = Integer.MAX_VALUE;
                for (int i = 0; i < SERVERS; i++) {
                    int n = after[i] - before[i];
                    checks += n;
                    fewest = Math.min(fewest, n);
                }
                long checkerThreads = Arrays.stream(threads.getThreadInfo(threads.getAllThreadIds()))
                        .filter(t -> t != null && isCheckerThread(t))
                        .count();
                System.out.printf(
                        Locale.ROOT,
                        "health-check scale: %d servers, %d checks in %.1f s, fewest per server %d, "
                                + "checker threads %d, CPU %.1f ms per 1,000 checks%n",
                        SERVERS,
                        checks,
                        elapsed / 1e9,
                        fewest,
                        checkerThreads,
                        cpu / 1e6 / (checks / 1_000.0));
                assertThat(fewest).isGreaterThanOrEqualTo(4);
                assertThat(lb.pool().healthyCount()).isEqualTo(SERVERS);
                // The balancer's scheduler, the health-check I/O thread and two workers, whatever the number of
                // servers.
                assertThat(checkerThreads).isLessThanOrEqualTo(4);
            }
        }
    }

    private static void awaitAllHealthy(LoadBalancer lb) {
        try {
            await().atMost(120, TimeUnit.SECONDS).until(() -> lb.pool().healthyCount() == SERVERS);
        } catch (ConditionTimeoutException e) {
            Map<String, Long> why = lb.pool().list().stream()
                    .filter(v -> v.status() != ServerStatus.HEALTHY)
                    .collect(Collectors.groupingBy(
                            v -> v.status() + " " + lb.health(v.id()).lastError(), Collectors.counting()));
            throw new AssertionError("not healthy: " + why, e);
        }
    }

    private static int fewest(int[] before, int[] after) {
        int fewest = Integer.MAX_VALUE;
        for (int i = 0; i < before.length; i++) {
            fewest = Math.min(fewest, after[i] - before[i]);
        }
        return fewest;
    }

    /** Checks passed so far per server: every check passes here, so the run of successes counts them all. */
    private static int[] passedChecks(LoadBalancer lb) {
        int[] counts = new int[SERVERS];
        for (int i = 0; i < SERVERS; i++) {
            counts[i] = lb.health("s" + i).consecutiveSuccesses();
        }
        return counts;
    }

    private static boolean isCheckerThread(ThreadInfo t) {
        String name = t.getThreadName();
        // The balancer's own threads (plain-http checks use no JDK HttpClient; other tests' clients may linger).
        return name.startsWith("fairload-scale");
    }

    private static long checkerCpuNanos(ThreadMXBean threads) {
        long total = 0;
        for (ThreadInfo t : threads.getThreadInfo(threads.getAllThreadIds())) {
            if (t != null && isCheckerThread(t)) {
                total += Math.max(0, threads.getThreadCpuTime(t.getThreadId()));
            }
        }
        return total;
    }

    /** Child JVMs running {@link ManyPortsServer}; stopped by closing their input, or by force. */
    private static final class Backends implements AutoCloseable {
        final List<Process> processes = new ArrayList<>();
        final int[] ports = new int[SERVERS];

        Backends(int count) throws Exception {
            String javaBinary =
                    Path.of(System.getProperty("java.home"), "bin", "java").toString();
            for (int p = 0; p < count; p++) {
                Process process = new ProcessBuilder(
                                javaBinary,
                                "-Xmx128m",
                                "-cp",
                                System.getProperty("java.class.path"),
                                ManyPortsServer.class.getName(),
                                String.valueOf(PER_PROCESS))
                        .redirectError(ProcessBuilder.Redirect.INHERIT)
                        .start();
                processes.add(process);
                BufferedReader reader =
                        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.US_ASCII));
                String line = reader.readLine();
                assertThat(line).startsWith("PORTS ");
                String[] parts = line.substring("PORTS ".length()).split(",");
                for (int i = 0; i < PER_PROCESS; i++) {
                    ports[p * PER_PROCESS + i] = Integer.parseInt(parts[i]);
                }
            }
        }

        @Override
        public void close() throws Exception {
            for (Process process : processes) {
                process.getOutputStream().close();
            }
            for (Process process : processes) {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
    }
}
