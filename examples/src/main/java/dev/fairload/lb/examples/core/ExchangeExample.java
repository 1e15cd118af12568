package dev.fairload.lb.examples.core;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.PickContext;
import dev.fairload.lb.exchange.Exchange;
import dev.fairload.lb.exchange.ExchangeEngine;

/**
 * The first step of an adapter over the core's {@link ExchangeEngine}: the engine says what to do next (send,
 * retry, deliver, fail) and the adapter does it. docs/core.md shows this method; {@code ExchangeExampleTest} runs
 * it; the complete adapter over the JDK's HTTP client is {@code JdkClientAdapterTest} in lb-core.
 */
public final class ExchangeExample {
    private ExchangeExample() {}

    /** docs/core.md's engine for the {@code orders} balancer, and the first step of one exchange. */
    public static Exchange.Next firstStep(LoadBalancer orders) {
        ExchangeEngine engine = ExchangeEngine.builder() // one engine per service: it holds the retry budget
                .maxRetries(3)
                .sessionCookie("JSESSIONID")
                .build(orders);

        Exchange exchange = engine.newExchange("GET", PickContext.empty());
        Exchange.Next next = exchange.start(); // SEND to exchange.server(), or FAIL: no server
        exchange.cancel(); // this example sends nothing
        return next;
    }
}
