package dev.fairload.lb.benchmarks.okhttp;

import com.sun.net.httpserver.HttpServer;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.Strategy;
import dev.fairload.lb.okhttp.LoadBalancingInterceptor;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import okhttp3.ConnectionPool;
import okhttp3.HttpUrl;
import okhttp3.Interceptor;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.ResponseBody;

/**
 * Compares a balanced {@link OkHttpClient} with a plain one that rotates over the same backends itself.
 *
 * <ol>
 *   <li><b>throughput</b>: three local backends (JDK {@code HttpServer}); both clients have the same connection
 *       pool (64 idle connections). Sequential calls from one thread, then 64 concurrent threads. Short rounds
 *       of the two clients run in pairs, in alternating order, so drift and outside load hit both alike; the
 *       median of the per-pair throughput ratios is reported.
 *   <li><b>overhead</b>: no network. A last interceptor answers every call at once, so the difference between a
 *       client with and without the balancing interceptor is the interceptor's own cost per call (pick, URL and
 *       request rebuild, body wrapper, lease completion), reported as the median over many calls.
 * </ol>
 *
 * <p>Run: {@code java -cp <classpath> dev.fairload.lb.benchmarks.okhttp.OkHttpClientBenchmark [seconds-per-round, default 0.5]}.
 * Needs {@code lb-okhttp} (and through it {@code okhttp-jvm}) on the class path. On a 2-core machine client and
 * backends share the cores; expect a few percent of noise between rounds.
 */
public final class OkHttpClientBenchmark {
    private static final int CONCURRENCY = 64;
    private static final int ROUNDS = 21;

    private OkHttpClientBenchmark() {}

    public static void main(String[] args) throws Exception {
        double secondsPerRound = args.length > 0 ? Double.parseDouble(args[0]) : 0.5;
        // Without TCP_NODELAY the JDK server's separate header and body writes meet the client's delayed ACK,
        // and every call waits for it: the benchmark would measure the kernel's timers, not the clients.
        System.setProperty("sun.net.httpserver.nodelay", "true");
        overhead();
        throughput(secondsPerRound);
    }

    // Overhead without network -------------------------------------------------------------------------------

    private static void overhead() throws IOException {
        Interceptor answer = chain -> new Response.Builder()
                .request(chain.request())
                .protocol(Protocol.HTTP_1_1)
                .code(200)
                .message("OK")
                .body(ResponseBody.create("ok", MediaType.get("text/plain")))
                .build();
        try (LoadBalancer lb = LoadBalancer.builder()
                .name("orders")
                .addServer(Server.of("127.0.0.1", 9001))
                .addServer(Server.of("127.0.0.1", 9002))
                .addServer(Server.of("127.0.0.1", 9003))
                .build()) {
            OkHttpClient plain =
                    new OkHttpClient.Builder().addInterceptor(answer).build();
            OkHttpClient balanced = new OkHttpClient.Builder()
                    .addInterceptor(LoadBalancingInterceptor.builder()
                            .service("orders", lb)
                            .build())
                    .addInterceptor(answer)
                    .build();
            Request request = new Request.Builder().url("http://orders/items/1").build();
            int calls = 200_000;
            long[] plainNanos = new long[calls];
            long[] balancedNanos = new long[calls];
            for (int warmup = 0; warmup < 3; warmup++) {
                timeCalls(plain, request, plainNanos);
                timeCalls(balanced, request, balancedNanos);
            }
            timeCalls(plain, request, plainNanos);
            timeCalls(balanced, request, balancedNanos);
            long plainMedian = median(plainNanos);
            long balancedMedian = median(balancedNanos);
            System.out.printf(
                    Locale.ROOT,
                    "overhead: plain call %.2f us, balanced call %.2f us, interceptor adds %.2f us per call (median of %d)%n",
                    plainMedian / 1000.0,
                    balancedMedian / 1000.0,
                    (balancedMedian - plainMedian) / 1000.0,
                    calls);
        }
    }

    private static void timeCalls(OkHttpClient client, Request request, long[] nanos) throws IOException {
        for (int i = 0; i < nanos.length; i++) {
            long start = System.nanoTime();
            try (Response response = client.newCall(request).execute()) {
                response.body().string();
            }
            nanos[i] = System.nanoTime() - start;
        }
    }

    private static long median(long[] values) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    // Throughput against real backends ------------------------------------------------------------------------

    private static void throughput(double secondsPerRound) throws Exception {
        List<HttpServer> backends = new ArrayList<>();
        ExecutorService backendThreads = Executors.newFixedThreadPool(32);
        try {
            for (int i = 0; i < 3; i++) {
                backends.add(startBackend(backendThreads));
            }
            List<HttpUrl> urls = new ArrayList<>();
            LoadBalancer.Builder builder = LoadBalancer.builder().name("orders").strategy(Strategy.roundRobin());
            for (HttpServer backend : backends) {
                int port = backend.getAddress().getPort();
                urls.add(HttpUrl.get("http://127.0.0.1:" + port + "/items"));
                builder.addServer(Server.of("127.0.0.1", port));
            }
            try (LoadBalancer lb = builder.build()) {
                OkHttpClient plain = new OkHttpClient.Builder()
                        .connectionPool(new ConnectionPool(CONCURRENCY, 5, TimeUnit.MINUTES))
                        .build();
                OkHttpClient balanced = plain.newBuilder()
                        .addInterceptor(LoadBalancingInterceptor.builder()
                                .service("orders", lb)
                                .build())
                        .build();
                AtomicInteger rotation = new AtomicInteger();
                IntFunction<Request> plainRequest = i -> new Request.Builder()
                        .url(urls.get(Math.floorMod(rotation.getAndIncrement(), urls.size())))
                        .build();
                HttpUrl logical = HttpUrl.get("http://orders/items");
                IntFunction<Request> balancedRequest =
                        i -> new Request.Builder().url(logical).build();

                for (int threads : new int[] {1, CONCURRENCY}) {
                    // Warm up both, then measure pairs of short rounds. Each pair runs the two clients back to
                    // back, in alternating order, so load from outside the benchmark hits both alike; the median
                    // of the per-pair ratios is reported.
                    run(plain, plainRequest, threads, secondsPerRound);
                    run(balanced, balancedRequest, threads, secondsPerRound);
                    double[] plainRates = new double[ROUNDS];
                    double[] balancedRates = new double[ROUNDS];
                    double[] ratios = new double[ROUNDS];
                    for (int round = 0; round < ROUNDS; round++) {
                        if (round % 2 == 0) {
                            plainRates[round] = run(plain, plainRequest, threads, secondsPerRound);
                            balancedRates[round] = run(balanced, balancedRequest, threads, secondsPerRound);
                        } else {
                            balancedRates[round] = run(balanced, balancedRequest, threads, secondsPerRound);
                            plainRates[round] = run(plain, plainRequest, threads, secondsPerRound);
                        }
                        ratios[round] = balancedRates[round] / plainRates[round];
                    }
                    Arrays.sort(plainRates);
                    Arrays.sort(balancedRates);
                    Arrays.sort(ratios);
                    System.out.printf(
                            Locale.ROOT,
                            "throughput, %d thread(s): plain %.0f calls/s, balanced %.0f calls/s (medians),"
                                    + " balanced/plain %.1f%% (median of %d paired rounds of %.1f s)%n",
                            threads,
                            plainRates[ROUNDS / 2],
                            balancedRates[ROUNDS / 2],
                            100.0 * ratios[ROUNDS / 2],
                            ROUNDS,
                            secondsPerRound);
                }
                shutdown(plain);
                shutdown(balanced);
            }
        } finally {
            for (HttpServer backend : backends) {
                backend.stop(0);
            }
            backendThreads.shutdownNow();
        }
    }

    private static double run(OkHttpClient client, IntFunction<Request> requests, int threads, double seconds)
            throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            long deadline = System.nanoTime() + (long) (seconds * 1e9);
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Long>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                results.add(pool.submit(() -> {
                    start.await();
                    long calls = 0;
                    while (System.nanoTime() < deadline) {
                        try (Response response =
                                client.newCall(requests.apply(0)).execute()) {
                            response.body().string();
                            if (response.code() != 200) {
                                throw new IllegalStateException("HTTP " + response.code());
                            }
                        }
                        calls++;
                    }
                    return calls;
                }));
            }
            long begin = System.nanoTime();
            start.countDown();
            long total = 0;
            for (Future<Long> result : results) {
                total += result.get();
            }
            return total / ((System.nanoTime() - begin) / 1e9);
        } finally {
            pool.shutdownNow();
        }
    }

    private static HttpServer startBackend(ExecutorService executor) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 256);
        byte[] body = "{\"id\":1,\"item\":\"book\"}".getBytes(StandardCharsets.UTF_8);
        server.createContext("/", exchange -> {
            exchange.getRequestBody().readAllBytes();
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.setExecutor(executor);
        server.start();
        return server;
    }

    private static void shutdown(OkHttpClient client) {
        client.dispatcher().executorService().shutdown();
        client.connectionPool().evictAll();
    }
}
