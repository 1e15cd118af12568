package dev.fairload.lb.benchmarks;

import dev.fairload.lb.Lease;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.PickContext;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Heap used by live sticky sessions: builds a balancer, creates {@code sessions} sessions (default 1,000,000)
 * through {@link LoadBalancer#pick(PickContext)} with a distinct 36-character UUID-like session key each and
 * completes every lease, then compares the heap in use after full collections before and after.
 *
 * <p>Not a JMH benchmark: it measures retained memory, not time. Run it in a JVM of its own with a fixed heap so
 * nothing else is live:
 *
 * <pre>{@code
 * java -Xms2g -Xmx2g -cp benchmarks/target/benchmarks.jar dev.fairload.lb.benchmarks.SessionMemory [sessions] [servers]
 * }</pre>
 *
 * <p>The session keys are built one at a time and dropped after their pick, as a server handling requests would,
 * so the figure is what the balancer itself retains per session. The balancer keeps its default session settings
 * (at most 1,000,000 sessions, 1 hour idle timeout), so all sessions created stay live.
 */
public final class SessionMemory {
    private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();

    private SessionMemory() {}

    public static void main(String[] args) throws InterruptedException {
        int sessions = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        int servers = args.length > 1 ? Integer.parseInt(args[1]) : 100;

        LoadBalancer lb = Fixtures.balancer("round_robin", servers);
        // One session through the whole path first, so classes and lazily built structures are not counted.
        pickSticky(lb, "warm-up-session");
        lb.unbindSession("warm-up-session");
        long before = usedHeapAfterGc();

        SplittableRandom random = new SplittableRandom(Fixtures.SEED);
        long started = System.nanoTime();
        for (int i = 0; i < sessions; i++) {
            pickSticky(lb, uuidLike(random));
        }
        long elapsedMillis = (System.nanoTime() - started) / 1_000_000;
        long after = usedHeapAfterGc();
        long live = lb.metrics().activeSessions();

        double megabytes = (after - before) / (1024.0 * 1024.0);
        System.out.printf(
                Locale.ROOT,
                "servers=%d sessions created=%d live=%d%n"
                        + "heap used after GC: before=%.1f MB after=%.1f MB%n"
                        + "retained by sessions: %.1f MB, %.1f bytes per session, %.1f MB per 1M sessions%n"
                        + "creating the sessions took %d ms (%.0f ns per sticky pick)%n",
                servers,
                sessions,
                live,
                before / (1024.0 * 1024.0),
                after / (1024.0 * 1024.0),
                megabytes,
                (after - before) / (double) live,
                megabytes * 1_000_000 / live,
                elapsedMillis,
                elapsedMillis * 1e6 / sessions);
        // Keep the balancer, and so its session table, reachable until after the last measurement.
        lb.close();
    }

    private static void pickSticky(LoadBalancer lb, String sessionKey) {
        Lease lease = lb.pick(PickContext.builder().sessionKey(sessionKey).build());
        lease.complete(200, 1_000_000);
    }

    /** A random 36-character key shaped like a UUID ({@code 8-4-4-4-12} hex digits). */
    private static String uuidLike(SplittableRandom random) {
        String hex = Long.toHexString(random.nextLong() | Long.MIN_VALUE)
                + Long.toHexString(random.nextLong() | Long.MIN_VALUE);
        return hex.substring(0, 8)
                + '-'
                + hex.substring(8, 12)
                + '-'
                + hex.substring(12, 16)
                + '-'
                + hex.substring(16, 20)
                + '-'
                + hex.substring(20, 32);
    }

    /** Heap in use after several full collections, once it stops shrinking. */
    private static long usedHeapAfterGc() throws InterruptedException {
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 10; i++) {
            System.gc();
            Thread.sleep(100);
            long now = MEMORY.getHeapMemoryUsage().getUsed();
            if (i >= 3 && now >= used) {
                return Math.min(used, now);
            }
            used = Math.min(used, now);
        }
        return used;
    }
}
