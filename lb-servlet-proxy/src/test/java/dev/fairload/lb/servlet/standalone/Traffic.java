package dev.fairload.lb.servlet.standalone;

import java.io.IOException;
import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import okhttp3.Call;
import okhttp3.Callback;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.awaitility.Awaitility;

/**
 * Steady client traffic: {@code rate} requests per second for a bounded count, one POST (with a unique {@code
 * X-Request-Id} and a small body) in every ten, the rest GETs, sent asynchronously from a pool of OkHttp clients'
 * connections. Every outcome is recorded; nothing is retried by the client.
 */
final class Traffic {
    /** One request's fate: status, or 0 and the error. */
    record Outcome(String method, String id, int status, String error, boolean refused, long startNanos, long nanos) {
        boolean ok() {
            return status == 200;
        }
    }

    private static final MediaType TEXT = MediaType.get("text/plain");

    private final Queue<Outcome> outcomes = new ConcurrentLinkedQueue<>();
    private final AtomicInteger sent = new AtomicInteger();
    private final int total;
    private volatile boolean stopped;
    private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "traffic-ticker");
        t.setDaemon(true);
        return t;
    });

    private Traffic(int total) {
        this.total = total;
    }

    /** Starts {@code rate} requests per second, {@code total} in all, to the base URL {@code base.apply(n)}. */
    static Traffic start(OkHttpClient client, IntFunction<String> base, int rate, int total) {
        Traffic t = new Traffic(total);
        int perTick = Math.max(1, rate / 100);
        t.ticker.scheduleAtFixedRate(
                () -> {
                    for (int i = 0; i < perTick; i++) {
                        // Stopped is checked before counting: await() expects an outcome for every request counted.
                        if (t.stopped) {
                            t.ticker.shutdown();
                            return;
                        }
                        int n = t.sent.getAndIncrement();
                        if (n >= total) {
                            t.ticker.shutdown();
                            return;
                        }
                        t.send(client, base.apply(n), n);
                    }
                },
                0,
                10,
                TimeUnit.MILLISECONDS);
        return t;
    }

    private void send(OkHttpClient client, String base, int n) {
        boolean post = n % 10 == 9;
        String id = post ? UUID.randomUUID().toString() : null;
        Request.Builder request = new Request.Builder().url(base + (post ? "/orders" : "/items/" + n));
        if (post) {
            request.header("X-Request-Id", id).post(RequestBody.create("order " + n + " " + "x".repeat(200), TEXT));
        }
        long start = System.nanoTime();
        String method = post ? "POST" : "GET";
        client.newCall(request.build()).enqueue(new Callback() {
            @Override
            public void onResponse(Call call, Response response) {
                try (response) {
                    String body = response.body().string();
                    String error = response.code() == 200 ? null : body.substring(0, Math.min(80, body.length()));
                    record(new Outcome(method, id, response.code(), error, false, start, System.nanoTime() - start));
                } catch (IOException e) {
                    onFailure(call, e);
                }
            }

            @Override
            public void onFailure(Call call, IOException e) {
                boolean refused = e instanceof ConnectException;
                record(new Outcome(method, id, 0, e.toString(), refused, start, System.nanoTime() - start));
            }
        });
    }

    private void record(Outcome o) {
        outcomes.add(o);
    }

    /** Requests started so far. */
    int sent() {
        return sent.get();
    }

    /** Waits (bounded) for the outcome of every request sent, and returns them. */
    List<Outcome> await(long seconds) {
        Awaitility.await()
                .atMost(Duration.ofSeconds(seconds))
                .pollInterval(Duration.ofMillis(20))
                .until(() -> (stopped || sent.get() >= total) && outcomes.size() >= Math.min(sent.get(), total));
        ticker.shutdownNow();
        List<Outcome> list = new ArrayList<>(outcomes);
        list.sort((a, b) -> Long.compare(a.startNanos(), b.startNanos()));
        return Collections.unmodifiableList(list);
    }

    /** Stops sending (outcomes of requests already sent still arrive). */
    void stop() {
        stopped = true;
        ticker.shutdownNow();
    }
}
