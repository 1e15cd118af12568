package dev.fairload.lb.benchmarks.soak;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import okhttp3.Call;
import okhttp3.Callback;
import okhttp3.ConnectionPool;
import okhttp3.Dispatcher;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * The soak run behind {@code benchmarks/soak.sh}: the standalone proxy jar as a child process in front of three
 * backends in this JVM, a steady rate of GETs for a number of minutes, and every minute one backend (in turn) stopped
 * and, five seconds later, started again on the same port. Every 30 s it prints one line: requests, errors, and the
 * proxy's heap after a full GC ({@code jcmd GC.run} then {@code GC.heap_info}), thread count and open file
 * descriptors (from {@code /proc}). A final line says whether errors stayed at 0 and heap, threads and descriptors
 * stayed flat (last sample within 20% of the first after warm-up).
 *
 * <p>Usage: {@code java -cp benchmarks.jar dev.fairload.lb.benchmarks.soak.SoakDriver PROXY_JAR [MINUTES] [RATE]}
 * (defaults 30 minutes, 500 requests per second). Linux only (reads {@code /proc}); stops every process and server
 * it started.
 */
public final class SoakDriver {
    private static final Pattern READY = Pattern.compile("listening on http://[^:]+:(\\d+)/ \\(admin");
    private static final Pattern USED = Pattern.compile("used (\\d+)K");

    private SoakDriver() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: SoakDriver PROXY_JAR [MINUTES] [RATE]");
            System.exit(2);
        }
        Path jar = Path.of(args[0]);
        int minutes = args.length > 1 ? Integer.parseInt(args[1]) : 30;
        int rate = args.length > 2 ? Integer.parseInt(args[2]) : 500;
        run(jar, minutes, rate, System.out);
    }

    static void run(Path jar, int minutes, int rate, PrintStream out) throws Exception {
        List<Backend> backends = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            backends.add(new Backend("s" + i, freePort()));
        }
        int port = freePort();
        Path log = Files.createTempFile("soak-proxy-", ".log");
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m",
                "-jar",
                jar.toString(),
                "--host",
                "127.0.0.1",
                "--port",
                Integer.toString(port),
                "--admin-port",
                "0"));
        for (Backend b : backends) {
            command.add("--backend");
            command.add("http://127.0.0.1:" + b.port);
        }
        Process proxy = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2);
        Dispatcher dispatcher = new Dispatcher();
        dispatcher.setMaxRequests(2048);
        dispatcher.setMaxRequestsPerHost(2048);
        OkHttpClient client = new OkHttpClient.Builder()
                .dispatcher(dispatcher)
                .connectionPool(new ConnectionPool(64, 30, TimeUnit.SECONDS))
                .retryOnConnectionFailure(false)
                .callTimeout(Duration.ofSeconds(30))
                .build();
        try {
            awaitReady(proxy, log);
            AtomicLong sent = new AtomicLong();
            AtomicLong ok = new AtomicLong();
            AtomicLong errors = new AtomicLong();
            String url = "http://127.0.0.1:" + port + "/soak";
            int perTick = Math.max(1, rate / 100);
            scheduler.scheduleAtFixedRate(
                    () -> {
                        for (int i = 0; i < perTick; i++) {
                            sent.incrementAndGet();
                            client.newCall(new Request.Builder().url(url).build())
                                    .enqueue(new Callback() {
                                        @Override
                                        public void onResponse(Call call, Response response) {
                                            try (response) {
                                                response.body().bytes();
                                                (response.code() == 200 ? ok : errors).incrementAndGet();
                                            } catch (IOException e) {
                                                errors.incrementAndGet();
                                            }
                                        }

                                        @Override
                                        public void onFailure(Call call, IOException e) {
                                            errors.incrementAndGet();
                                        }
                                    });
                        }
                    },
                    0,
                    10,
                    TimeUnit.MILLISECONDS);
            AtomicLong round = new AtomicLong();
            scheduler.scheduleAtFixedRate(
                    () -> {
                        Backend b = backends.get((int) (round.getAndIncrement() % backends.size()));
                        b.stop();
                        scheduler.schedule(b::startQuietly, 5, TimeUnit.SECONDS);
                    },
                    60,
                    60,
                    TimeUnit.SECONDS);
            long pid = proxy.pid();
            List<long[]> samples = new ArrayList<>();
            out.println("# minute requests ok errors heapAfterGcKiB threads fds");
            long start = System.nanoTime();
            long end = start + TimeUnit.MINUTES.toNanos(minutes);
            while (System.nanoTime() < end) {
                proxy.waitFor(30, TimeUnit.SECONDS); // the sampling period; returns early only if the proxy died
                if (!proxy.isAlive()) {
                    throw new IllegalStateException("proxy exited: " + Files.readString(log));
                }
                long[] s = {heapAfterGc(pid), threads(pid), fds(pid)};
                samples.add(s);
                out.printf(
                        Locale.ROOT,
                        "%6.1f %9d %9d %6d %14d %7d %5d%n",
                        (System.nanoTime() - start) / 60e9,
                        sent.get(),
                        ok.get(),
                        errors.get(),
                        s[0],
                        s[1],
                        s[2]);
            }
            scheduler.shutdownNow();
            long[] first = samples.get(Math.min(2, samples.size() - 1)); // after a minute of warm-up
            long[] last = samples.get(samples.size() - 1);
            boolean flat = last[0] <= first[0] * 1.2 + 4096 && last[1] <= first[1] * 1.2 && last[2] <= first[2] * 1.2;
            out.printf(
                    Locale.ROOT,
                    "RESULT minutes=%d rate=%d requests=%d errors=%d heapAfterGcKiB %d->%d threads %d->%d fds %d->%d %s%n",
                    minutes,
                    rate,
                    sent.get(),
                    errors.get(),
                    first[0],
                    last[0],
                    first[1],
                    last[1],
                    first[2],
                    last[2],
                    errors.get() == 0 && flat ? "PASS" : "CHECK");
        } finally {
            scheduler.shutdownNow();
            proxy.destroy();
            if (!proxy.waitFor(40, TimeUnit.SECONDS)) {
                proxy.destroyForcibly();
            }
            for (Backend b : backends) {
                b.stop();
                b.executor.shutdownNow();
            }
            client.dispatcher().executorService().shutdownNow();
            client.connectionPool().evictAll();
        }
    }

    private static void awaitReady(Process proxy, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            Matcher m = READY.matcher(Files.readString(log));
            if (m.find()) {
                return;
            }
            if (proxy.waitFor(100, TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException("proxy exited: " + Files.readString(log));
            }
        }
        throw new IllegalStateException("proxy not ready: " + Files.readString(log));
    }

    private static long heapAfterGc(long pid) throws Exception {
        jcmd(pid, "GC.run");
        Matcher m = USED.matcher(jcmd(pid, "GC.heap_info"));
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    private static String jcmd(long pid, String command) throws Exception {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), command)
                .redirectErrorStream(true)
                .start();
        try (InputStream in = p.getInputStream()) {
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(30, TimeUnit.SECONDS);
            return text;
        }
    }

    private static long threads(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("Threads:")) {
                return Long.parseLong(line.substring(8).strip());
            }
        }
        return -1;
    }

    private static long fds(long pid) throws IOException {
        try (var list = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return list.count();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** A backend that answers 200 with a small body; stopped and started again on the same port. */
    private static final class Backend {
        final String name;
        final int port;
        final ExecutorService executor = Executors.newFixedThreadPool(8);
        private HttpServer server;

        Backend(String name, int port) throws IOException {
            this.name = name;
            this.port = port;
            start();
        }

        synchronized void start() throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 256);
            server.setExecutor(executor);
            byte[] body = (name + "\n").getBytes(StandardCharsets.US_ASCII);
            server.createContext("/", exchange -> {
                try (exchange) {
                    exchange.getRequestBody().readAllBytes();
                    exchange.sendResponseHeaders(200, body.length);
                    exchange.getResponseBody().write(body);
                }
            });
            server.start();
        }

        void startQuietly() {
            try {
                start();
            } catch (IOException e) {
                System.err.println("restarting " + name + " failed: " + e);
            }
        }

        synchronized void stop() {
            if (server != null) {
                server.stop(0);
                server = null;
            }
        }
    }
}
