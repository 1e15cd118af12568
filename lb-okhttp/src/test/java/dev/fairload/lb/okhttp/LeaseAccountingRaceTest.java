package dev.fairload.lb.okhttp;

import static dev.fairload.lb.okhttp.TestSupport.answering;
import static dev.fairload.lb.okhttp.TestSupport.balancer;
import static dev.fairload.lb.okhttp.TestSupport.inFlight;
import static dev.fairload.lb.okhttp.TestSupport.served;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import mockwebserver3.junit5.StartStop;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** 64 threads share one client: every attempt is counted exactly once, and nothing stays in flight. */
class LeaseAccountingRaceTest {
    private static final int THREADS = 64;
    private static final int CALLS_PER_THREAD = 40;

    @StartStop
    private final MockWebServer backendA = new MockWebServer();

    @StartStop
    private final MockWebServer backendB = new MockWebServer();

    @StartStop
    private final MockWebServer backendC = new MockWebServer();

    private LoadBalancer orders;
    private ExecutorService threads;

    @AfterEach
    void tearDown() {
        if (threads != null) {
            threads.shutdownNow();
        }
        if (orders != null) {
            orders.close();
        }
    }

    @Test
    void concurrentCalls_noLostOrDoubleCountedLease() throws Exception {
        AtomicInteger flaky = new AtomicInteger();
        backendA.setDispatcher(answering("a".repeat(2000)));
        backendB.setDispatcher(answering("b".repeat(2000)));
        backendC.setDispatcher(new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                // Every third answer is a 503, so retries and budget race with ordinary calls.
                return flaky.incrementAndGet() % 3 == 0
                        ? new MockResponse.Builder().code(503).body("busy").build()
                        : new MockResponse.Builder().body("c".repeat(2000)).build();
            }
        });
        orders = balancer(backendA, backendB, backendC);
        OkHttpClient client = TestSupport.client(LoadBalancingInterceptor.builder()
                .service("orders", orders)
                .backoff(Duration.ZERO, Duration.ZERO)
                .build());
        threads = Executors.newFixedThreadPool(THREADS);
        CountDownLatch start = new CountDownLatch(1);
        AtomicInteger completed = new AtomicInteger();
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            int thread = t;
            futures.add(threads.submit(() -> {
                start.await();
                for (int i = 0; i < CALLS_PER_THREAD; i++) {
                    Request request = new Request.Builder()
                            .url("http://orders/t" + thread + "/" + i)
                            .build();
                    try (Response response = client.newCall(request).execute()) {
                        assertThat(response.request().tag(Server.class)).isNotNull();
                        if ((thread + i) % 2 == 0) {
                            response.body().string();
                        } // else: closed unread
                    }
                    completed.incrementAndGet();
                }
                return null;
            }));
        }
        start.countDown();
        for (Future<?> future : futures) {
            future.get(60, TimeUnit.SECONDS);
        }

        assertThat(completed).hasValue(THREADS * CALLS_PER_THREAD);
        assertThat(inFlight(orders)).isZero();
        assertThat(orders.metrics().inFlight()).isZero();
        assertThat(served(orders, "a")).isEqualTo(backendA.getRequestCount());
        assertThat(served(orders, "b")).isEqualTo(backendB.getRequestCount());
        assertThat(served(orders, "c")).isEqualTo(backendC.getRequestCount());
        long attempts = backendA.getRequestCount() + backendB.getRequestCount() + backendC.getRequestCount();
        assertThat(orders.metrics().totalRequests()).isEqualTo(attempts);
        assertThat(orders.metrics().retries()).isEqualTo(attempts - THREADS * CALLS_PER_THREAD);
    }
}
