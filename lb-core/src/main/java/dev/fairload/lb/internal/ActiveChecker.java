package dev.fairload.lb.internal;

import dev.fairload.lb.Server;
import dev.fairload.lb.health.ActiveHealthCheck;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Active health checks.
 *
 * <p>Transport: plain-http checks go through {@link HttpProber}, one selector thread with a kept-alive
 * connection per server (about 30-40 us of CPU per check; see its comment for why not the JDK client). https
 * checks use the JDK {@link HttpClient}, whose TLS stack and trust settings we want; its idle-connection list
 * costs O(connections) per request, so https servers are spread over clients of at most {@link
 * #SERVERS_PER_CLIENT} each.
 *
 * <p>Threads: the balancer's scheduler fires checks and their timeouts, the prober's thread (or the client's
 * selector) does the I/O, and verdicts are applied on a fixed pool of {@link #WORKERS} daemon threads. A check
 * that hangs costs its timeout and nothing else: no thread waits for it.
 *
 * <p>Schedule: a server's first check runs at once (servers of the initial pool spread over their first
 * interval), and at most {@link #MAX_CONCURRENT_CHECKS} run at a time. While a server is settling (unknown,
 * down, or with a failure or success run that has not yet reached {@code fall} or {@code rise}) its next check
 * comes after the fast interval; a healthy server's second check runs at a random point of the following
 * interval, which spreads servers added together, and later checks come every interval. Each delay is
 * shortened by a random share of up to {@link ActiveHealthCheck#jitter()}. A check's timeout is capped by the
 * server's interval.
 *
 * <p>Verdicts: the first result decides an unknown server's status; after that {@code fall} failures in a row
 * take it out and {@code rise} successes in a row bring it back. Each verdict goes to the pool, which
 * publishes a snapshot at once.
 */
final class ActiveChecker implements AutoCloseable {
    static final int WORKERS = 2;
    /**
     * Most checks in flight at once. Beyond it a due check waits in a FIFO queue and starts when a check in flight
     * ends, so a burst (thousands of servers added together) never opens thousands of sockets at once, and no
     * server waits behind others that came later (nor does anything poll while waiting).
     */
    static final int MAX_CONCURRENT_CHECKS = 256;
    /** The longest window the first checks of servers starting together are spread over. */
    private static final long MAX_FIRST_CHECK_WINDOW_MILLIS = 1000;

    /** Servers per {@link HttpClient}; see the class comment. */
    static final int SERVERS_PER_CLIENT = 2_000;

    private static final Logger log = LoggerFactory.getLogger(ActiveChecker.class);
    private static final int MAX_BODY = 64 * 1024;

    private final Pool pool;
    private final ScheduledExecutorService scheduler;
    private final ExecutorService workers;
    private final Map<String, Target> targets = new ConcurrentHashMap<>();
    private final java.util.concurrent.Semaphore permits = new java.util.concurrent.Semaphore(MAX_CONCURRENT_CHECKS);
    /** Checks that are due and wait for a permit, oldest first. */
    private final java.util.Queue<Target> waiting = new java.util.concurrent.ConcurrentLinkedQueue<>();

    private volatile ActiveHealthCheck config;
    private final java.util.List<Shard> shards = new java.util.concurrent.CopyOnWriteArrayList<>();
    private HttpProber prober; // created on first plain-http check; guarded by this

    /** One client and the number of servers it checks. */
    private static final class Shard {
        volatile HttpClient client;
        final AtomicInteger servers = new AtomicInteger();

        Shard(HttpClient client) {
            this.client = client;
        }
    }

    ActiveChecker(Pool pool, ScheduledExecutorService scheduler, ActiveHealthCheck config) {
        this.pool = pool;
        this.scheduler = scheduler;
        AtomicInteger n = new AtomicInteger();
        this.workers = Executors.newFixedThreadPool(WORKERS, r -> {
            Thread t = new Thread(r, "fairload-" + pool.name() + "-health-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.config = config;
    }

    private synchronized HttpProber prober() {
        if (prober == null) {
            prober = new HttpProber(pool.name(), scheduler);
        }
        return prober;
    }

    /** The shard with room for one more server, created when all are full. */
    private synchronized Shard assignShard() {
        for (Shard shard : shards) {
            if (shard.servers.get() < SERVERS_PER_CLIENT) {
                shard.servers.incrementAndGet();
                return shard;
            }
        }
        Shard shard = new Shard(newClient(config));
        shard.servers.incrementAndGet();
        shards.add(shard);
        return shard;
    }

    /** Per-server check state. Fields other than the future are touched by one check at a time. */
    final class Target {
        final ServerState state;
        final Shard shard;
        final CompletableFuture<Void> firstCheck = new CompletableFuture<>();
        final HttpProber.Connection connection = new HttpProber.Connection();
        volatile ScheduledFuture<?> next;
        volatile boolean stopped;
        volatile int successes;
        volatile int failures;
        volatile String lastError;
        volatile long lastDurationNanos = -1;
        Boolean up;
        int checks;
        private HttpRequest request;
        private ActiveHealthCheck requestConfig;
        private Server requestServer;

        Target(ServerState state, Shard shard) {
            this.state = state;
            this.shard = shard;
        }

        /** The check request, built once per configuration and server value; null if the address is unusable. */
        synchronized HttpRequest request(ActiveHealthCheck cfg) {
            Server server = state.server();
            if (request == null || requestConfig != cfg || requestServer != server) {
                requestConfig = cfg;
                requestServer = server;
                request = buildRequest(server, cfg);
            }
            return request;
        }
    }

    private static HttpRequest buildRequest(Server server, ActiveHealthCheck cfg) {
        String path = server.healthCheckPath().orElse(cfg.path());
        try {
            URI uri = new URI(cfg.https() ? "https" : "http", null, server.host(), server.port(), null, null, null)
                    .resolve(path);
            return HttpRequest.newBuilder(uri)
                    .timeout(cfg.effectiveTimeout(interval(server, cfg)))
                    .header("User-Agent", "fairload-health-check")
                    .GET()
                    .build();
        } catch (java.net.URISyntaxException | IllegalArgumentException e) {
            return null;
        }
    }

    ActiveHealthCheck config() {
        return config;
    }

    Target target(String serverId) {
        return targets.get(serverId);
    }

    /**
     * Starts checking a server: at once, or, when it is one of {@code batch} servers starting together (the initial
     * pool, new settings), at a random point of a window of 1 ms per 10 servers, at most a second and at most its
     * interval; so a pool's first verdicts come within about a second however large it is, and 10,000 servers start
     * at 10,000 checks per second instead of all at once.
     */
    CompletableFuture<Void> start(ServerState state, int batch) {
        Target target = new Target(state, config.https() ? assignShard() : null);
        Target old = targets.put(state.id(), target);
        if (old != null) {
            stop(old);
        }
        long interval = intervalMillis(state, config);
        long window = Math.min(interval, Math.min(MAX_FIRST_CHECK_WINDOW_MILLIS, batch / 10));
        long delayMillis = window > 0 ? ThreadLocalRandom.current().nextLong(window) : 0;
        schedule(target, delayMillis);
        return target.firstCheck;
    }

    void stop(String serverId) {
        Target target = targets.remove(serverId);
        if (target != null) {
            stop(target);
        }
    }

    private void stop(Target target) {
        if (!target.stopped && target.shard != null) {
            target.shard.servers.decrementAndGet();
        }
        target.stopped = true;
        synchronized (this) {
            if (prober != null) {
                prober.release(target.connection);
            }
        }
        ScheduledFuture<?> next = target.next;
        if (next != null) {
            next.cancel(false);
        }
        target.firstCheck.complete(null);
    }

    /** Applies a new configuration to every server, checking each again at once. */
    void reconfigure(ActiveHealthCheck newConfig) {
        ActiveHealthCheck old = this.config;
        this.config = newConfig;
        if (old.https() != newConfig.https()
                || !old.sslContext().equals(newConfig.sslContext())
                || !old.timeout().equals(newConfig.timeout())) {
            for (Shard shard : shards) {
                shard.client = newClient(newConfig);
            }
        }
        for (Target target : targets.values()) {
            start(target.state, targets.size());
        }
    }

    private void schedule(Target target, long delayMillis) {
        if (target.stopped) {
            return;
        }
        try {
            target.next = scheduler.schedule(() -> check(target), delayMillis, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // The balancer is closing.
        }
    }

    private void check(Target target) {
        if (target.stopped) {
            return;
        }
        if (!permits.tryAcquire()) {
            waiting.add(target);
            // A check may have ended between the failed tryAcquire and the add: start the waiting ones it allows.
            startWaiting();
            return;
        }
        run(target);
    }

    /** Gives free permits to waiting checks, oldest first; each then runs on the scheduler thread. */
    private void startWaiting() {
        while (!waiting.isEmpty() && permits.tryAcquire()) {
            Target next = waiting.poll();
            if (next == null || next.stopped) {
                permits.release();
                continue;
            }
            try {
                scheduler.execute(() -> run(next));
            } catch (java.util.concurrent.RejectedExecutionException e) {
                permits.release(); // the balancer is closing
                return;
            }
        }
    }

    /** Sends one check, holding a permit that {@link #finish} returns. */
    private void run(Target target) {
        if (target.stopped) {
            permits.release();
            startWaiting();
            return;
        }
        ActiveHealthCheck cfg = config;
        HttpRequest request = target.request(cfg);
        if (request == null) {
            finish(target, cfg, false, "bad health-check address", 0);
            return;
        }
        long start = System.nanoTime();
        if (!cfg.https()) {
            Server server = target.state.server();
            prober().probe(
                            target.connection,
                            server.host(),
                            server.port(),
                            server.healthCheckPath().orElse(cfg.path()),
                            cfg.effectiveTimeout(interval(server, cfg)).toNanos(),
                            cfg.expectedBody().isPresent(),
                            result -> {
                                long took = System.nanoTime() - start;
                                String error = result.error() != null ? result.error() : judge(result, cfg);
                                // Verdicts publish snapshots: off the I/O thread.
                                workers.execute(() -> finish(target, cfg, error == null, error, took));
                            });
            return;
        }
        try {
            send(target, cfg, request, start);
        } catch (RuntimeException e) {
            // The client refused the request (for example while shutting down): a failed check, not a lost one.
            finish(target, cfg, false, describe(e), System.nanoTime() - start);
        }
    }

    /** Sends one check; its completion runs on the client's executor (the worker pool), with no extra hop. */
    private void send(Target target, ActiveHealthCheck cfg, HttpRequest request, long start) {
        HttpClient client = target.shard.client;
        if (cfg.expectedBody().isPresent()) {
            client.sendAsync(request, HttpResponse.BodyHandlers.ofInputStream()).handle((response, failure) -> {
                String error = failure != null ? describe(failure) : judge(response, cfg);
                finish(target, cfg, error == null, error, System.nanoTime() - start);
                return null;
            });
        } else {
            client.sendAsync(request, HttpResponse.BodyHandlers.discarding()).handle((response, failure) -> {
                String error = failure != null ? describe(failure) : judgeStatus(response.statusCode(), cfg);
                finish(target, cfg, error == null, error, System.nanoTime() - start);
                return null;
            });
        }
    }

    private static String judge(HttpProber.Result result, ActiveHealthCheck cfg) {
        String statusError = judgeStatus(result.status(), cfg);
        if (statusError != null) {
            return statusError;
        }
        if (cfg.expectedBody().isPresent()
                && !result.body().contains(cfg.expectedBody().get())) {
            return "body mismatch";
        }
        return null;
    }

    private static String judgeStatus(int status, ActiveHealthCheck cfg) {
        return status < cfg.expectedStatusMin() || status > cfg.expectedStatusMax() ? "status " + status : null;
    }

    /** Null when the answer passes, else why it failed. Reads at most 64 KiB of body. */
    private static String judge(HttpResponse<InputStream> response, ActiveHealthCheck cfg) {
        try (InputStream body = response.body()) {
            String statusError = judgeStatus(response.statusCode(), cfg);
            if (statusError != null) {
                return statusError;
            }
            if (cfg.expectedBody().isPresent()) {
                String text = new String(body.readNBytes(MAX_BODY), StandardCharsets.UTF_8);
                if (!text.contains(cfg.expectedBody().get())) {
                    return "body mismatch";
                }
            }
            return null;
        } catch (java.io.IOException e) {
            return describe(e);
        }
    }

    static String describe(Throwable failure) {
        Throwable t = failure;
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof HttpTimeoutException) {
                return "timeout";
            }
            if (c instanceof ConnectException) {
                return "connection refused";
            }
        }
        String message = t.getMessage();
        return t.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }

    private void finish(Target target, ActiveHealthCheck cfg, boolean passed, String error, long tookNanos) {
        permits.release();
        startWaiting();
        if (target.stopped) {
            return;
        }
        target.lastDurationNanos = tookNanos;
        target.state.lastHealthCheckMillis(System.currentTimeMillis());
        String reason;
        Boolean verdict = null;
        boolean settling;
        synchronized (target) {
            target.checks++;
            if (passed) {
                target.successes++;
                target.failures = 0;
                if (target.up == null || (!target.up && target.successes >= cfg.rise())) {
                    verdict = Boolean.TRUE;
                }
                reason = target.up == null ? "first check passed" : target.successes + " checks passed";
            } else {
                target.failures++;
                target.successes = 0;
                target.lastError = error;
                if (target.up == null || (target.up && target.failures >= cfg.fall())) {
                    verdict = Boolean.FALSE;
                }
                reason = error;
            }
            if (verdict != null) {
                target.up = verdict;
            }
            settling = target.up != Boolean.TRUE || target.failures > 0;
        }
        if (verdict != null) {
            pool.activeCheckResult(target.state.id(), verdict, reason);
        } else if (passed) {
            pool.activeCheckPassed(target.state);
        } else {
            pool.activeCheckFailed(target.state);
        }
        target.firstCheck.complete(null);
        Duration interval = interval(target.state.server(), cfg);
        long delay = nextDelayMillis(
                settling,
                target.checks,
                interval.toMillis(),
                fastInterval(target.state.server(), cfg, interval).toMillis(),
                cfg.jitter(),
                ThreadLocalRandom.current().nextDouble());
        if (log.isDebugEnabled()) {
            log.debug("{}: check of {} {} ({})", pool.name(), target.state.id(), passed ? "passed" : "failed", reason);
        }
        schedule(target, delay);
    }

    /**
     * The delay before a server's next check: the fast interval while it is settling; after the first check of a
     * healthy server, a point of the second half of its interval (spreading servers added together); else its
     * interval. Jitter shortens the first and last by up to {@code jitter} of themselves.
     *
     * @param random a number in [0, 1) that places the check
     */
    static long nextDelayMillis(
            boolean settling, int checks, long intervalMillis, long fastMillis, double jitter, double random) {
        if (settling) {
            return Math.max(1, fastMillis - (long) (fastMillis * jitter * random));
        }
        if (checks == 1) {
            return intervalMillis / 2 + (long) (random * Math.max(1, intervalMillis / 2));
        }
        return Math.max(1, intervalMillis - (long) (intervalMillis * jitter * random));
    }

    private static long intervalMillis(ServerState state, ActiveHealthCheck cfg) {
        return interval(state.server(), cfg).toMillis();
    }

    private static Duration interval(Server server, ActiveHealthCheck cfg) {
        return server.healthCheckInterval().orElse(cfg.interval());
    }

    /** The server's fast interval (its own or the balancer's), never longer than its interval. */
    private static Duration fastInterval(Server server, ActiveHealthCheck cfg, Duration interval) {
        Duration fast = server.healthCheckFastInterval().orElse(cfg.fastInterval());
        return fast.compareTo(interval) < 0 ? fast : interval;
    }

    private HttpClient newClient(ActiveHealthCheck cfg) {
        HttpClient.Builder b = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(cfg.timeout())
                .executor(workers);
        cfg.sslContext().ifPresent(b::sslContext);
        return b.build();
    }

    @Override
    public void close() {
        for (Target target : targets.values()) {
            stop(target);
        }
        targets.clear();
        workers.shutdownNow();
        synchronized (this) {
            if (prober != null) {
                prober.close();
            }
        }
    }
}
