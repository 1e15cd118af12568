package dev.fairload.lb.exchange;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fairload.lb.Lease;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.PickContext;
import dev.fairload.lb.Server;
import dev.fairload.lb.ServerView;
import dev.fairload.lb.Strategy;
import dev.fairload.lb.Ticker;
import dev.fairload.lb.exchange.Exchange.Next;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The exchange engine's rules, driven by hand: no network, a driven clock, real balancers. */
class ExchangeTest {
    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    private final Ticker ticker = nanos::get;
    private final LoadBalancer lb = LoadBalancer.builder()
            .name("orders")
            .strategy(Strategy.roundRobin())
            .ticker(ticker)
            .addServer(Server.builder("127.0.0.1", 8001).id("a").build())
            .addServer(Server.builder("127.0.0.1", 8002).id("b").build())
            .addServer(Server.builder("127.0.0.1", 8003).id("c").build())
            .build();

    @AfterEach
    void tearDown() {
        lb.close();
    }

    private ExchangeEngine.Builder engine() {
        return ExchangeEngine.builder().ticker(ticker).backoff(Duration.ZERO, Duration.ZERO);
    }

    private ServerView view(String id) {
        return lb.pool().get(id).orElseThrow();
    }

    private long inFlight() {
        return lb.pool().list().stream().mapToLong(ServerView::inFlight).sum();
    }

    private long failures() {
        return lb.pool().list().stream().mapToLong(ServerView::failures).sum();
    }

    private long completed() {
        return lb.pool().list().stream().mapToLong(ServerView::totalRequests).sum();
    }

    private static final IOException RESET = new IOException("connection reset");
    private static final IOException REFUSED = new ConnectException("connection refused");

    // One attempt ------------------------------------------------------------------------------------------------

    @Test
    void oneAttempt_leaseHeldUntilBodyEnd_latencyToHeaders() {
        Exchange exchange = engine().build(lb).newExchange("GET", PickContext.empty());

        assertThat(exchange.start()).isEqualTo(Next.SEND);
        String server = exchange.server().id();
        nanos.addAndGet(Duration.ofMillis(40).toNanos());
        assertThat(exchange.onResponse(200)).isEqualTo(Next.DELIVER);
        nanos.addAndGet(Duration.ofSeconds(5).toNanos()); // a slow body read does not count as server latency
        assertThat(view(server).inFlight()).isEqualTo(1);

        exchange.onBodyEnd();
        assertThat(view(server).inFlight()).isZero();
        assertThat(view(server).totalRequests()).isEqualTo(1);
        assertThat(view(server).failures()).isZero();
        assertThat(view(server).averageResponseTime()).isEqualTo(Duration.ofMillis(40));
        assertThat(exchange.retries()).isZero();
    }

    @Test
    void onBodyEnd_twice_completesOnce() {
        Exchange exchange = engine().build(lb).newExchange("GET", PickContext.empty());
        exchange.start();
        exchange.onResponse(200);
        exchange.onBodyEnd();
        exchange.onBodyEnd();
        exchange.cancel();

        assertThat(completed()).isEqualTo(1);
        assertThat(inFlight()).isZero();
    }

    @Test
    void noServer_failsWithReason() {
        lb.pool().list().forEach(s -> lb.pool().drain(s.id()));
        Exchange exchange = engine().build(lb).newExchange("GET", PickContext.empty());

        assertThat(exchange.start()).isEqualTo(Next.FAIL);
        assertThat(exchange.unavailableReason()).isEqualTo(Lease.Unavailable.NO_HEALTHY_SERVER);
        assertThatThrownBy(exchange::server).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void bodylessResponses_completeAtHeaders() {
        ExchangeEngine engine = engine().build(lb);
        for (String[] c : List.of(
                new String[] {"HEAD", "200"}, new String[] {"GET", "204"}, new String[] {"GET", "304"}, new String[] {
                    "GET", "101"
                })) {
            Exchange exchange = engine.newExchange(c[0], PickContext.empty());
            exchange.start();
            assertThat(exchange.onResponse(Integer.parseInt(c[1]))).isEqualTo(Next.DELIVER);
            assertThat(inFlight()).as("%s %s", c[0], c[1]).isZero();
        }
        assertThat(completed()).isEqualTo(4);
    }

    @Test
    void hints_afterStart_rejected() {
        Exchange exchange = engine().build(lb).newExchange("POST", PickContext.empty());
        exchange.start();

        assertThatThrownBy(() -> exchange.retryable(true))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("retryable: the exchange has started (sending)");
        assertThatThrownBy(exchange::oneShotBody).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(exchange::start).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void retry_withoutPendingRetry_rejected() {
        Exchange exchange = engine().build(lb).newExchange("GET", PickContext.empty());
        exchange.start();

        assertThatThrownBy(exchange::retry)
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("retry: no retry pending (sending)");
    }

    // When another server may be tried ----------------------------------------------------------------------------

    @Test
    void failureBeforeSending_retriedAtOnceWhateverTheMethod() {
        Exchange exchange = engine().backoff(Duration.ofSeconds(1), Duration.ofSeconds(1))
                .build(lb)
                .newExchange("POST", PickContext.empty());
        exchange.start();
        String first = exchange.server().id();

        assertThat(exchange.onFailure(REFUSED, false)).isEqualTo(Next.RETRY);
        assertThat(exchange.retryDelayMillis()).isZero();
        assertThat(view(first).failures()).isEqualTo(1); // the server refused: its failure
        assertThat(exchange.retry()).isEqualTo(Next.SEND);
        assertThat(exchange.server().id()).isNotEqualTo(first);
        assertThat(exchange.retries()).isEqualTo(1);
        assertThat(exchange.context().isExcluded(first)).isTrue();
    }

    @Test
    void failureOnceSent_postNotRetried_getRetriedAfterBackoff() {
        ExchangeEngine engine =
                engine().backoff(Duration.ofMillis(100), Duration.ofMillis(100)).build(lb);
        Exchange post = engine.newExchange("POST", PickContext.empty());
        post.start();
        assertThat(post.onFailure(RESET, true)).isEqualTo(Next.FAIL);
        assertThat(failures()).isEqualTo(1);

        Exchange get = engine.newExchange("GET", PickContext.empty());
        get.start();
        assertThat(get.onFailure(RESET, true)).isEqualTo(Next.RETRY);
        // 100 ms randomized by ±50%.
        assertThat(get.retryDelayMillis()).isBetween(50L, 150L);
        assertThat(get.retry()).isEqualTo(Next.SEND);
        assertThat(inFlight()).isEqualTo(1);
    }

    @Test
    void backoff_doublesPerRetry_cappedAtMax_noneBeforeSending() {
        LoadBalancer five = LoadBalancer.builder().name("five").ticker(ticker).build();
        for (int i = 0; i < 5; i++) {
            five.pool().add(Server.builder("127.0.0.1", 8100 + i).id("s" + i).build());
        }
        try (five) {
            Exchange exchange = ExchangeEngine.builder()
                    .backoff(Duration.ofMillis(100), Duration.ofMillis(300))
                    .maxRetries(4)
                    .build(five)
                    .newExchange("GET", PickContext.empty());
            exchange.start();
            assertThat(exchange.onResponse(503)).isEqualTo(Next.RETRY);
            assertThat(exchange.retryDelayMillis()).isBetween(50L, 150L); // 100 ms ±50%
            exchange.retry();
            assertThat(exchange.onFailure(RESET, true)).isEqualTo(Next.RETRY);
            assertThat(exchange.retryDelayMillis()).isBetween(100L, 300L); // 200 ms ±50%
            exchange.retry();
            assertThat(exchange.onFailure(RESET, true)).isEqualTo(Next.RETRY);
            assertThat(exchange.retryDelayMillis()).isBetween(200L, 300L); // 400 ms ±50%, capped at 300
            exchange.retry();
            assertThat(exchange.onFailure(REFUSED, false)).isEqualTo(Next.RETRY);
            assertThat(exchange.retryDelayMillis()).isZero(); // never sent: at once
        }
    }

    @Test
    void onRequestCommitted_decidesWhetherAFailureWasSent_perAttempt() {
        Exchange exchange = engine().build(lb).newExchange("POST", PickContext.empty());
        exchange.start();
        // Not committed: the connection failed before the request left, so even a POST goes elsewhere.
        assertThat(exchange.onFailure(REFUSED)).isEqualTo(Next.RETRY);
        assertThat(exchange.retry()).isEqualTo(Next.SEND);

        exchange.onRequestCommitted();
        assertThat(exchange.onFailure(RESET)).isEqualTo(Next.FAIL);
        assertThat(failures()).isEqualTo(2);
    }

    @Test
    void idempotentMethods_perRfc9110() {
        ExchangeEngine engine = engine().build(lb);
        for (String method : List.of("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE")) {
            Exchange exchange = engine.newExchange(method, PickContext.empty());
            exchange.start();
            assertThat(exchange.onFailure(RESET, true)).as(method).isEqualTo(Next.RETRY);
            exchange.cancel();
        }
        for (String method : List.of("POST", "PATCH", "CONNECT", "PROPFIND")) {
            Exchange exchange = engine.newExchange(method, PickContext.empty());
            exchange.start();
            assertThat(exchange.onFailure(RESET, true)).as(method).isEqualTo(Next.FAIL);
        }
    }

    @Test
    void markedRetryable_postRetriedOnceSent() {
        Exchange exchange =
                engine().build(lb).newExchange("POST", PickContext.empty()).retryable(true);
        exchange.start();

        assertThat(exchange.onFailure(RESET, true)).isEqualTo(Next.RETRY);
    }

    @Test
    void markedNotRetryable_getRetriedOnlyIfNeverSent() {
        ExchangeEngine engine = engine().build(lb);
        Exchange sent = engine.newExchange("GET", PickContext.empty()).retryable(false);
        sent.start();
        assertThat(sent.onFailure(RESET, true)).isEqualTo(Next.FAIL);

        Exchange notSent = engine.newExchange("GET", PickContext.empty()).retryable(false);
        notSent.start();
        assertThat(notSent.onFailure(REFUSED, false)).isEqualTo(Next.RETRY);
    }

    @Test
    void oneShotBody_neverSentTwice_butRetriedIfNeverSent() {
        ExchangeEngine engine = engine().build(lb);
        Exchange sent = engine.newExchange("PUT", PickContext.empty()).oneShotBody();
        sent.start();
        assertThat(sent.onFailure(RESET, true)).isEqualTo(Next.FAIL);

        Exchange notSent = engine.newExchange("PUT", PickContext.empty()).oneShotBody();
        notSent.start();
        assertThat(notSent.onFailure(REFUSED, false)).isEqualTo(Next.RETRY);
        assertThat(notSent.retry()).isEqualTo(Next.SEND);
        // The second attempt sends it: no third.
        assertThat(notSent.onResponse(503)).isEqualTo(Next.DELIVER);
    }

    @Test
    void retryableStatus_getRetriedElsewhere_leaseCompletedWithStatus() {
        Exchange exchange = engine().build(lb).newExchange("GET", PickContext.empty());
        exchange.start();
        String first = exchange.server().id();

        assertThat(exchange.onResponse(503)).isEqualTo(Next.RETRY);
        assertThat(view(first).inFlight()).isZero();
        assertThat(view(first).failures()).isEqualTo(1); // 5xx counts against the server
        assertThat(exchange.retry()).isEqualTo(Next.SEND);
        assertThat(exchange.onResponse(200)).isEqualTo(Next.DELIVER);
        assertThat(exchange.server().id()).isNotEqualTo(first);
    }

    @Test
    void statuses_retriedOnlyIfListed() {
        ExchangeEngine defaults = engine().build(lb);
        for (int status : List.of(500, 501, 505, 429, 404)) {
            Exchange exchange = defaults.newExchange("GET", PickContext.empty());
            exchange.start();
            assertThat(exchange.onResponse(status)).as("%s", status).isEqualTo(Next.DELIVER);
            exchange.onBodyEnd();
        }
        Exchange listed = engine().retryOnStatus(List.of(500)).build(lb).newExchange("GET", PickContext.empty());
        listed.start();
        assertThat(listed.onResponse(500)).isEqualTo(Next.RETRY);

        Exchange none = engine().retryOnStatus(List.of()).build(lb).newExchange("GET", PickContext.empty());
        none.start();
        assertThat(none.onResponse(503)).isEqualTo(Next.DELIVER);
    }

    @Test
    void retryableStatus_postDelivered() {
        Exchange exchange = engine().build(lb).newExchange("POST", PickContext.empty());
        exchange.start();

        assertThat(exchange.onResponse(503)).isEqualTo(Next.DELIVER);
    }

    @Test
    void retry_neverGoesToATriedServer_andGivesUpWhenAllTried() {
        Exchange exchange = engine().maxRetries(10).build(lb).newExchange("GET", PickContext.empty());
        Set<String> tried = new HashSet<>();
        assertThat(exchange.start()).isEqualTo(Next.SEND);
        tried.add(exchange.server().id());
        for (int i = 0; i < 2; i++) {
            assertThat(exchange.onResponse(502)).isEqualTo(Next.RETRY);
            assertThat(exchange.retry()).isEqualTo(Next.SEND);
            assertThat(tried.add(exchange.server().id())).isTrue();
        }
        int retriesMade = exchange.retries();
        assertThat(exchange.onResponse(502)).isEqualTo(Next.RETRY);

        // No server left: the last response is delivered, by the server that gave it.
        String last = exchange.server().id();
        assertThat(exchange.retry()).isEqualTo(Next.DELIVER);
        assertThat(exchange.unavailableReason()).isEqualTo(Lease.Unavailable.ALL_TRIED);
        assertThat(exchange.server().id()).isEqualTo(last);
        assertThat(exchange.retries()).isEqualTo(retriesMade);
        exchange.onBodyEnd();
        assertThat(inFlight()).isZero();
        assertThat(completed()).isEqualTo(3);
    }

    @Test
    void retry_noServerLeftAfterFailure_fails() {
        Exchange exchange = engine().build(lb).newExchange("GET", PickContext.empty());
        exchange.start();
        lb.pool().list().forEach(s -> lb.pool().drain(s.id()));

        assertThat(exchange.onFailure(RESET, true)).isEqualTo(Next.RETRY);
        assertThat(exchange.retry()).isEqualTo(Next.FAIL);
        assertThat(exchange.unavailableReason()).isEqualTo(Lease.Unavailable.NO_HEALTHY_SERVER);
        assertThat(inFlight()).isZero();
    }

    @Test
    void maxRetries_boundsEveryKindOfRetry() {
        LoadBalancer five = LoadBalancer.builder().name("five").ticker(ticker).build();
        for (int i = 0; i < 5; i++) {
            five.pool().add(Server.builder("127.0.0.1", 8100 + i).id("s" + i).build());
        }
        try (five) {
            Exchange exchange = engine().maxRetries(3).build(five).newExchange("GET", PickContext.empty());
            exchange.start();
            assertThat(exchange.onFailure(REFUSED, false)).isEqualTo(Next.RETRY); // not sent
            exchange.retry();
            assertThat(exchange.onFailure(new SocketTimeoutException(), true)).isEqualTo(Next.RETRY); // sent
            exchange.retry();
            assertThat(exchange.onResponse(200)).isEqualTo(Next.DELIVER);
            assertThat(exchange.onBodyFailure(RESET, true)).isEqualTo(Next.RETRY); // resend after a mid-body failure
            exchange.retry();

            assertThat(exchange.retries()).isEqualTo(3);
            assertThat(exchange.onFailure(REFUSED, false)).isEqualTo(Next.FAIL);
            assertThat(five.pool().list().stream()
                            .mapToLong(ServerView::inFlight)
                            .sum())
                    .isZero();
        }
    }

    @Test
    void maxRetriesZero_neverRetries() {
        Exchange exchange = engine().maxRetries(0).build(lb).newExchange("GET", PickContext.empty());
        exchange.start();

        assertThat(exchange.onFailure(REFUSED, false)).isEqualTo(Next.FAIL);
    }

    // The retry budget -------------------------------------------------------------------------------------------

    @Test
    void budget_spentByEveryKindOfRetry() {
        ExchangeEngine engine = engine().retryBudget(0.0, 3).build(lb);
        assertThat(engine.retryBudgetAvailable()).isEqualTo(3);

        Exchange notSent = engine.newExchange("POST", PickContext.empty());
        notSent.start();
        assertThat(notSent.onFailure(REFUSED, false)).isEqualTo(Next.RETRY);
        Exchange status = engine.newExchange("GET", PickContext.empty());
        status.start();
        assertThat(status.onResponse(503)).isEqualTo(Next.RETRY);
        Exchange midBody = engine.newExchange("GET", PickContext.empty());
        midBody.start();
        midBody.onResponse(200);
        assertThat(midBody.onBodyFailure(RESET, true)).isEqualTo(Next.RETRY);
        assertThat(engine.retryBudgetAvailable()).isZero();

        Exchange spent = engine.newExchange("GET", PickContext.empty());
        spent.start();
        assertThat(spent.onFailure(REFUSED, false)).isEqualTo(Next.FAIL);
    }

    @Test
    void budget_earnedByRequests() {
        ExchangeEngine engine = engine().retryBudget(0.5, 0).build(lb);
        for (int i = 0; i < 4; i++) {
            Exchange exchange = engine.newExchange("GET", PickContext.empty());
            exchange.start();
            exchange.onResponse(200);
            exchange.onBodyEnd();
        }

        assertThat(engine.retryBudgetAvailable()).isEqualTo(2);
    }

    @Test
    void budget_givenBackWhenNoServerIsLeft() {
        LoadBalancer single = LoadBalancer.builder()
                .name("single")
                .addServer(Server.builder("127.0.0.1", 8200).id("only").build())
                .build();
        try (single) {
            ExchangeEngine engine = engine().retryBudget(0.0, 1).build(single);
            Exchange exchange = engine.newExchange("GET", PickContext.empty());
            exchange.start();
            assertThat(exchange.onResponse(503)).isEqualTo(Next.RETRY);
            assertThat(engine.retryBudgetAvailable()).isZero();

            assertThat(exchange.retry()).isEqualTo(Next.DELIVER);
            assertThat(engine.retryBudgetAvailable()).isEqualTo(1);
        }
    }

    // Mid-body failures ------------------------------------------------------------------------------------------

    @Test
    void bodyFailure_countsAgainstServer_resentOnlyIfNothingReachedTheClient() {
        ExchangeEngine engine = engine().build(lb);
        Exchange committed = engine.newExchange("GET", PickContext.empty());
        committed.start();
        String server = committed.server().id();
        committed.onResponse(200);
        assertThat(committed.onBodyFailure(RESET, false)).isEqualTo(Next.FAIL);
        assertThat(view(server).failures()).isEqualTo(1);
        assertThat(view(server).inFlight()).isZero();

        Exchange post = engine.newExchange("POST", PickContext.empty());
        post.start();
        post.onResponse(200);
        assertThat(post.onBodyFailure(RESET, true)).isEqualTo(Next.FAIL);

        Exchange get = engine.newExchange("GET", PickContext.empty());
        get.start();
        String first = get.server().id();
        get.onResponse(200);
        assertThat(get.onBodyFailure(RESET, true)).isEqualTo(Next.RETRY);
        assertThat(get.retry()).isEqualTo(Next.SEND);
        assertThat(get.server().id()).isNotEqualTo(first);
    }

    // Cancel -----------------------------------------------------------------------------------------------------

    @Test
    void cancel_whileSending_releasesWithoutOutcome() {
        Exchange exchange = engine().build(lb).newExchange("GET", PickContext.empty());
        exchange.start();

        exchange.cancel();
        assertThat(inFlight()).isZero();
        assertThat(completed()).isZero();
        assertThat(exchange.onFailure(RESET, true)).isEqualTo(Next.FAIL);
        assertThat(exchange.onResponse(200)).isEqualTo(Next.FAIL);
        assertThat(failures()).isZero();
        assertThat(exchange.isCancelled()).isTrue();
    }

    @Test
    void cancel_whileReadingBody_notCountedAgainstServer() {
        Exchange exchange = engine().build(lb).newExchange("GET", PickContext.empty());
        exchange.start();
        exchange.onResponse(200);

        exchange.cancel();
        assertThat(exchange.onBodyFailure(RESET, true)).isEqualTo(Next.FAIL);
        exchange.onBodyEnd();
        assertThat(inFlight()).isZero();
        assertThat(completed()).isZero();
    }

    @Test
    void cancel_duringBackoff_retryFails_budgetGivenBack() {
        ExchangeEngine engine = engine().retryBudget(0.0, 1).build(lb);
        Exchange exchange = engine.newExchange("GET", PickContext.empty());
        exchange.start();
        exchange.onResponse(503);

        exchange.cancel();
        assertThat(exchange.retry()).isEqualTo(Next.FAIL);
        assertThat(engine.retryBudgetAvailable()).isEqualTo(1);
        assertThat(inFlight()).isZero();
    }

    // Sessions ---------------------------------------------------------------------------------------------------

    private Exchange delivered(ExchangeEngine engine, PickContext context, int status) {
        Exchange exchange = engine.newExchange("GET", context);
        exchange.start();
        assertThat(exchange.onResponse(status)).isEqualTo(Next.DELIVER);
        return exchange;
    }

    @Test
    void session_boundToTheServerWhoseResponseSetsTheCookie() {
        ExchangeEngine engine = engine().sessionCookie("JSESSIONID").build(lb);
        Exchange exchange = delivered(engine, PickContext.empty(), 200);

        exchange.onSetCookie("other=1; Path=/");
        exchange.onSetCookie("JSESSIONID=abc123; Path=/; HttpOnly");
        assertThat(lb.sessionServer("abc123")).isEqualTo(exchange.server().id());
        assertThat(lb.sessionServer("1")).isNull();
    }

    @Test
    void session_boundWhateverTheStatus_a500Included() {
        ExchangeEngine engine = engine().sessionCookie("JSESSIONID").build(lb);
        Exchange exchange = delivered(engine, PickContext.empty(), 500);

        exchange.onSetCookie("JSESSIONID=s-500");
        assertThat(lb.sessionServer("s-500")).isEqualTo(exchange.server().id());
    }

    @Test
    void session_retriedResponseBindsNothing() {
        ExchangeEngine engine = engine().sessionCookie("JSESSIONID").build(lb);
        Exchange exchange = engine.newExchange("GET", PickContext.empty());
        exchange.start();
        assertThat(exchange.onResponse(503)).isEqualTo(Next.RETRY);

        exchange.onSetCookie("JSESSIONID=from-the-retried-one");
        assertThat(lb.sessionServer("from-the-retried-one")).isNull();
    }

    @Test
    void session_deletedCookieUnbinds() {
        ExchangeEngine engine = engine().sessionCookie("JSESSIONID").build(lb);
        for (String deleting : List.of(
                "JSESSIONID=; Path=/",
                "JSESSIONID=\"\"",
                "JSESSIONID=gone; Max-Age=0",
                "JSESSIONID=gone; max-age=-1; Path=/",
                "JSESSIONID=gone; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
                "JSESSIONID=gone; Expires=Thu, 01-Jan-1970 00:00:00 GMT")) {
            PickContext session = PickContext.builder().sessionKey("s1").build();
            Exchange exchange = delivered(engine, session, 200);
            assertThat(lb.sessionServer("s1")).isNotNull(); // bound by the pick

            exchange.onSetCookie(deleting);
            assertThat(lb.sessionServer("s1")).as(deleting).isNull();
            assertThat(lb.sessionServer("gone")).isNull();
            exchange.onBodyEnd();
        }
    }

    @Test
    void session_maxAgeTakesPrecedenceOverExpires_andFutureExpiresKeeps() {
        ExchangeEngine engine = engine().sessionCookie("JSESSIONID").build(lb);
        Exchange exchange = delivered(engine, PickContext.empty(), 200);

        exchange.onSetCookie("JSESSIONID=kept; Max-Age=3600; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
        exchange.onSetCookie("JSESSIONID=later; Expires=Fri, 31 Dec 9999 23:59:59 GMT");
        assertThat(lb.sessionServer("kept")).isEqualTo(exchange.server().id());
        assertThat(lb.sessionServer("later")).isEqualTo(exchange.server().id());
    }

    @Test
    void session_newValueReplacesTheRequestsKey() {
        ExchangeEngine engine = engine().sessionCookie("JSESSIONID").build(lb);
        PickContext session = PickContext.builder().sessionKey("before-login").build();
        Exchange exchange = delivered(engine, session, 200);

        exchange.onSetCookie("JSESSIONID=after-login");
        assertThat(lb.sessionServer("after-login")).isEqualTo(exchange.server().id());
        assertThat(lb.sessionServer("before-login")).isNull();
    }

    @Test
    void session_sameKeySetAgainAfterFailover_boundToTheNewServer() {
        ExchangeEngine engine = engine().sessionCookie("JSESSIONID").build(lb);
        PickContext session = PickContext.builder().sessionKey("s1").build();
        Exchange first = delivered(engine, session, 200);
        first.onSetCookie("JSESSIONID=s1");
        first.onBodyEnd();
        String home = first.server().id();
        assertThat(lb.sessionServer("s1")).isEqualTo(home);

        // The session's server fails the next request; it is retried elsewhere, where the application re-creates it.
        Exchange next = engine.newExchange("GET", session);
        next.start();
        assertThat(next.server().id()).isEqualTo(home);
        assertThat(next.onResponse(503)).isEqualTo(Next.RETRY);
        assertThat(next.retry()).isEqualTo(Next.SEND);
        assertThat(next.onResponse(200)).isEqualTo(Next.DELIVER);
        next.onSetCookie("JSESSIONID=s1");

        assertThat(next.server().id()).isNotEqualTo(home);
        assertThat(lb.sessionServer("s1")).isEqualTo(next.server().id());
    }

    @Test
    void session_withoutSessionCookieConfigured_nothingBound() {
        Exchange exchange = delivered(engine().build(lb), PickContext.empty(), 200);

        exchange.onSetCookie("JSESSIONID=abc");
        assertThat(lb.sessionServer("abc")).isNull();
    }

    @Test
    void stickyToken_givenWhenTheRequestLacksItOrNamesAnotherServer() {
        ExchangeEngine engine = engine().build(lb);
        Exchange fresh = delivered(engine, PickContext.empty(), 200);
        String token = fresh.server().stickyToken();
        assertThat(fresh.stickyTokenToSet()).isEqualTo(token);

        Exchange same =
                delivered(engine, PickContext.builder().stickyToken(token).build(), 200);
        assertThat(same.server().stickyToken()).isEqualTo(token);
        assertThat(same.stickyTokenToSet()).isNull();

        lb.pool().drain(fresh.server().id());
        Exchange moved =
                delivered(engine, PickContext.builder().stickyToken(token).build(), 200);
        assertThat(moved.server().id()).isNotEqualTo(fresh.server().id());
        assertThat(moved.stickyTokenToSet()).isEqualTo(moved.server().stickyToken());

        Exchange failed = engine.newExchange("GET", PickContext.empty());
        failed.start();
        failed.onFailure(RESET, true);
        assertThat(failed.stickyTokenToSet()).isNull();
    }

    // Builder ----------------------------------------------------------------------------------------------------

    @Test
    void builder_validatesWithFieldNames() {
        ExchangeEngine.Builder builder = ExchangeEngine.builder();
        assertThatThrownBy(() -> builder.maxRetries(11)).hasMessage("maxRetries: 11 (expected: 0-10)");
        assertThatThrownBy(() -> builder.maxRetries(-1)).hasMessage("maxRetries: -1 (expected: 0-10)");
        assertThatThrownBy(() -> builder.retryBudget(1.5, 10)).hasMessage("retryBudget: 1.5 (expected: 0.0-1.0)");
        assertThatThrownBy(() -> builder.retryBudget(0.2, 1001)).hasMessage("reserve: 1001 (expected: 0-1000)");
        assertThatThrownBy(() -> builder.retryOnStatus(List.of(503, 404)))
                .hasMessage("retryOnStatus: 404 (expected: 500-599)");
        assertThatThrownBy(() -> builder.backoff(Duration.ofMillis(-1), Duration.ZERO))
                .hasMessage("initial: PT-0.001S (expected: >= 0)");
        assertThatThrownBy(() -> builder.backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
                .hasMessage("max: PT1S (expected: >= initial PT2S)");
        assertThatThrownBy(() -> builder.sessionCookie("a b"))
                .hasMessage("sessionCookie: 'a b' (expected: a cookie name)");
    }
}
