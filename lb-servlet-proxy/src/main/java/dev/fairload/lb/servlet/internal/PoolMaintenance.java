package dev.fairload.lb.servlet.internal;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import okhttp3.ConnectionPool;
import okhttp3.internal.concurrent.TaskRunner;
import okhttp3.internal.connection.ConnectionListener;

/**
 * An upstream connection pool whose housekeeping (closing connections idle past the keep-alive time) runs on a
 * schedule of its own, at most once per {@link #PERIOD_MILLIS}, instead of waking a thread every time a connection is
 * returned to the pool.
 *
 * <p>Why: OkHttp schedules its pool's cleanup task each time a connection goes idle, which for a proxy is once per
 * request: measured at 0.7 thread wake-ups per proxied request (the pool's task thread ran about 68,000 times for
 * 96,000 requests), each a context switch plus a scan of every pooled connection. Eviction needs no such precision:
 * a connection idle a few hundred milliseconds past its keep-alive time is harmless while the keep-alive time stays
 * that far below the backends' own idle timeout ({@code ProxyConfig.upstreamIdleTimeoutMillis}).
 *
 * <p>How: OkHttp's pool takes a {@link TaskRunner}; this one's backend ignores "run now" notifications and wakes its
 * coordinator on a timer instead. {@code TaskRunner}, its {@code Backend} and {@code ConnectionListener} live in
 * OkHttp's {@code internal} package: they are public but carry no compatibility promise, so this class is the only
 * place that touches them, and the OkHttp version is pinned in the parent pom.
 *
 * <p>Thread-safe. The coordinator and the task threads are daemons; {@link #close()} stops them.
 */
final class PoolMaintenance implements AutoCloseable {
    static final long PERIOD_MILLIS = 250;

    private final ThreadPoolExecutor threads;
    private final TaskRunner runner;

    PoolMaintenance(String name) {
        this.threads =
                new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
                    Thread t = new Thread(r, name);
                    t.setDaemon(true);
                    return t;
                });
        this.runner = new TaskRunner(new CoarseBackend(threads), Logger.getLogger(TaskRunner.class.getName()));
    }

    /** A pool of at most {@code maxIdle} idle connections kept {@code keepAlive} each, maintained by this runner. */
    ConnectionPool newPool(int maxIdle, long keepAlive, TimeUnit unit) {
        return new ConnectionPool(maxIdle, keepAlive, unit, runner, ConnectionListener.Companion.getNONE());
    }

    /** Threads alive now (the coordinator runs while the pool has connections). */
    int threadCount() {
        return threads.getPoolSize();
    }

    @Override
    public void close() {
        synchronized (runner) { // OkHttp's task runner is guarded by its own monitor
            runner.cancelAll();
        }
        threads.shutdownNow();
    }

    /** OkHttp's default backend, except that the coordinator is woken by its own timer, never by a new task. */
    private static final class CoarseBackend implements TaskRunner.Backend {
        private final ExecutorService threads;

        CoarseBackend(ExecutorService threads) {
            this.threads = threads;
        }

        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public void coordinatorNotify(TaskRunner taskRunner) {
            // Deliberately nothing: the coordinator looks again within PERIOD_MILLIS.
        }

        @Override
        public void coordinatorWait(TaskRunner taskRunner, long nanos) {
            // Called with taskRunner's monitor held, as OkHttp's own backend expects; wait() releases it.
            long millis = Math.min(PERIOD_MILLIS, Math.max(1, TimeUnit.NANOSECONDS.toMillis(nanos)));
            if (nanos > 0) {
                try {
                    taskRunner.wait(millis);
                } catch (InterruptedException e) {
                    // OkHttp's backend lets the interruption end the coordinator; so does this one.
                    throw sneaky(e);
                }
            }
        }

        @SuppressWarnings("unchecked")
        private static <E extends Throwable> RuntimeException sneaky(Throwable e) throws E {
            throw (E) e;
        }

        @Override
        public <T> BlockingQueue<T> decorate(BlockingQueue<T> queue) {
            return queue;
        }

        @Override
        public void execute(TaskRunner taskRunner, Runnable runnable) {
            threads.execute(runnable);
        }
    }
}
