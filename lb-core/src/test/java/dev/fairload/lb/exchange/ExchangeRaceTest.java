package dev.fairload.lb.exchange;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.PickContext;
import dev.fairload.lb.Server;
import dev.fairload.lb.ServerView;
import dev.fairload.lb.exchange.Exchange.Next;
import java.time.Duration;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A cancel from another thread, racing with retries and completion, never leaks a lease nor completes one twice. */
class ExchangeRaceTest {

    @Test
    void cancelRacingWithRetriesAndBodyEnd_noLeakedOrDoubleCountedLease() throws Exception {
        LoadBalancer lb = LoadBalancer.builder()
                .name("race")
                .addServer(Server.builder("127.0.0.1", 8001).id("a").build())
                .addServer(Server.builder("127.0.0.1", 8002).id("b").build())
                .addServer(Server.builder("127.0.0.1", 8003).id("c").build())
                .build();
        ExchangeEngine engine = ExchangeEngine.builder()
                .backoff(Duration.ZERO, Duration.ZERO)
                .retryBudget(1.0, 1000)
                .build(lb);
        ExecutorService threads = Executors.newFixedThreadPool(2);
        int rounds = 5_000;
        try (lb) {
            for (int i = 0; i < rounds; i++) {
                Exchange exchange = engine.newExchange("GET", PickContext.empty());
                CyclicBarrier together = new CyclicBarrier(2);
                Future<?> driver = threads.submit(() -> {
                    together.await();
                    Next next = exchange.start();
                    while (next == Next.SEND) {
                        next = exchange.onResponse(exchange.retries() < 2 ? 503 : 200);
                        if (next == Next.RETRY) {
                            next = exchange.retry();
                        }
                    }
                    exchange.onBodyEnd();
                    return null;
                });
                Future<?> canceller = threads.submit(() -> {
                    together.await();
                    exchange.cancel();
                    return null;
                });
                driver.get(10, TimeUnit.SECONDS);
                canceller.get(10, TimeUnit.SECONDS);
            }
            long inFlight =
                    lb.pool().list().stream().mapToLong(ServerView::inFlight).sum();
            long completed = lb.pool().list().stream()
                    .mapToLong(ServerView::totalRequests)
                    .sum();
            // A leaked lease leaves a count behind; one released twice drives it below zero.
            assertThat(inFlight).isZero();
            // At most three attempts per exchange were completed (two 503s and a 200); a cancel completes none.
            assertThat(completed).isLessThanOrEqualTo(3L * rounds);
            assertThat(lb.metrics().inFlight()).isZero();
        } finally {
            threads.shutdownNow();
            assertThat(threads.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        }
    }
}
