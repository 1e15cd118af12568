package dev.fairload.lb.okhttp;

import static dev.fairload.lb.okhttp.TestSupport.answering;
import static dev.fairload.lb.okhttp.TestSupport.balancer;
import static dev.fairload.lb.okhttp.TestSupport.client;
import static dev.fairload.lb.okhttp.TestSupport.failures;
import static dev.fairload.lb.okhttp.TestSupport.inFlight;
import static dev.fairload.lb.okhttp.TestSupport.served;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fairload.lb.LoadBalancer;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import mockwebserver3.SocketEffect;
import mockwebserver3.junit5.StartStop;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okio.BufferedSink;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RetryTest {
    private static final MediaType TEXT = MediaType.get("text/plain");

    @StartStop
    private final MockWebServer backendA = new MockWebServer();

    @StartStop
    private final MockWebServer backendB = new MockWebServer();

    @StartStop
    private final MockWebServer backendC = new MockWebServer();

    private LoadBalancer orders;

    @BeforeEach
    void setUp() {
        backendA.setDispatcher(answering("a"));
        backendB.setDispatcher(answering("b"));
        backendC.setDispatcher(answering("c"));
        orders = balancer(backendA, backendB, backendC);
    }

    @AfterEach
    void tearDown() {
        orders.close();
    }

    private OkHttpClient client(LoadBalancingInterceptor.Builder builder) {
        return TestSupport.client(builder.service("orders", orders).build());
    }

    private OkHttpClient defaultClient() {
        return client(LoadBalancingInterceptor.builder());
    }

    private static Request get() {
        return new Request.Builder().url("http://orders/items").build();
    }

    private static Request post(RequestBody body) {
        return new Request.Builder().url("http://orders/items").post(body).build();
    }

    private static Dispatcher closingAfterRequest() {
        return new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                return new MockResponse.Builder()
                        .onResponseStart(new SocketEffect.CloseSocket())
                        .build();
            }
        };
    }

    private static String bodyOf(OkHttpClient client, Request request) throws IOException {
        try (Response response = client.newCall(request).execute()) {
            return response.code() + " " + response.body().string();
        }
    }

    private int totalServed() {
        return backendA.getRequestCount() + backendB.getRequestCount() + backendC.getRequestCount();
    }

    @Test
    void retry_stoppedServerSkipped() throws IOException {
        backendB.close();
        OkHttpClient client = defaultClient();
        int ok = 0;
        for (int i = 0; i < 90; i++) {
            String answer = bodyOf(client, get());
            assertThat(answer).isIn("200 a", "200 c");
            ok++;
        }

        assertThat(ok).isEqualTo(90);
        assertThat(backendA.getRequestCount() + backendC.getRequestCount()).isEqualTo(90);
        // Each connection failure was retried elsewhere, and after five in a row passive health ejected the
        // stopped server, so later calls no longer tried it (the ejection is applied asynchronously: a call or
        // two may still have gone to it meanwhile).
        assertThat(orders.metrics().retries()).isEqualTo(failures(orders, "b")).isBetween(5L, 8L);
        assertThat(orders.pool().get("b").orElseThrow().status()).isEqualTo(dev.fairload.lb.ServerStatus.UNHEALTHY);
        assertThat(orders.metrics().ejections()).isEqualTo(1);
        assertThat(inFlight(orders)).isZero();
    }

    @Test
    void retry_postAfterBodySentNotRetried() {
        backendA.setDispatcher(closingAfterRequest());
        backendB.setDispatcher(closingAfterRequest());
        backendC.setDispatcher(closingAfterRequest());
        OkHttpClient client = defaultClient();

        assertThatThrownBy(() -> bodyOf(client, post(RequestBody.create("order-1", TEXT))))
                .isInstanceOf(IOException.class);
        assertThat(totalServed()).isEqualTo(1);
        assertThat(orders.metrics().retries()).isZero();
        assertThat(inFlight(orders)).isZero();
    }

    @Test
    void retry_getAfterSendRetriedElsewhere() throws Exception {
        backendA.setDispatcher(closingAfterRequest());
        OkHttpClient client = defaultClient();

        assertThat(bodyOf(client, get())).isEqualTo("200 b");
        assertThat(backendA.getRequestCount()).isEqualTo(1);
        assertThat(failures(orders, "a")).isEqualTo(1);
    }

    @Test
    void retry_postConnectFailureRetried() throws Exception {
        backendA.close();
        OkHttpClient client = defaultClient();

        assertThat(bodyOf(client, post(RequestBody.create("order-1", TEXT)))).isEqualTo("200 b");
        RecordedRequest recorded = backendB.takeRequest();
        assertThat(recorded.getMethod()).isEqualTo("POST");
        assertThat(recorded.getBody().utf8()).isEqualTo("order-1");
    }

    @Test
    void retry_503RetriedElsewhereForGet() throws IOException {
        backendA.setDispatcher(answering(503, "busy"));
        OkHttpClient client = defaultClient();

        assertThat(bodyOf(client, get())).isEqualTo("200 b");
        assertThat(failures(orders, "a")).isEqualTo(1);
        assertThat(served(orders, "a")).isEqualTo(1);
        assertThat(inFlight(orders)).isZero();
    }

    @Test
    void retry_500NotRetriedByDefault() throws IOException {
        backendA.setDispatcher(answering(500, "broken"));
        OkHttpClient client = defaultClient();

        assertThat(bodyOf(client, get())).isEqualTo("500 broken");
        assertThat(totalServed()).isEqualTo(1);
        assertThat(inFlight(orders)).isZero();
    }

    @Test
    void retry_500RetriedElsewhereForGet_whenListedInRetryOnStatus() throws IOException {
        backendA.setDispatcher(answering(500, "broken"));
        OkHttpClient client = client(LoadBalancingInterceptor.builder()
                .backoff(Duration.ZERO, Duration.ZERO)
                .retryOnStatus(List.of(500, 502, 503, 504)));

        assertThat(bodyOf(client, get())).isEqualTo("200 b");
        assertThat(failures(orders, "a")).isEqualTo(1);
        assertThat(inFlight(orders)).isZero();
    }

    @Test
    void retry_503NotRetriedForPost() throws IOException {
        backendA.setDispatcher(answering(503, "busy"));
        OkHttpClient client = defaultClient();

        assertThat(bodyOf(client, post(RequestBody.create("x", TEXT)))).isEqualTo("503 busy");
        assertThat(totalServed()).isEqualTo(1);
    }

    @Test
    void retry_postTaggedRetryableRetried() throws IOException {
        backendA.setDispatcher(answering(503, "busy"));
        OkHttpClient client = defaultClient();
        Request request = post(RequestBody.create("x", TEXT))
                .newBuilder()
                .tag(Retryable.class, Retryable.YES)
                .build();

        assertThat(bodyOf(client, request)).isEqualTo("200 b");
    }

    @Test
    void retry_getTaggedNotRetryableNotRetried() throws IOException {
        backendA.setDispatcher(answering(503, "busy"));
        OkHttpClient client = defaultClient();
        Request request = get().newBuilder().tag(Retryable.class, Retryable.NO).build();

        assertThat(bodyOf(client, request)).isEqualTo("503 busy");
        assertThat(totalServed()).isEqualTo(1);
    }

    @Test
    void retry_oneShotBodyNeverReplayed() throws IOException {
        backendA.setDispatcher(answering(503, "busy"));
        OkHttpClient client = defaultClient();
        RequestBody oneShot = new RequestBody() {
            @Override
            public MediaType contentType() {
                return TEXT;
            }

            @Override
            public void writeTo(BufferedSink sink) throws IOException {
                sink.writeUtf8("stream");
            }

            @Override
            public boolean isOneShot() {
                return true;
            }
        };
        Request request = new Request.Builder()
                .url("http://orders/upload")
                .put(oneShot)
                .tag(Retryable.class, Retryable.YES)
                .build();

        assertThat(bodyOf(client, request)).isEqualTo("503 busy");
        assertThat(totalServed()).isEqualTo(1);
    }

    /**
     * A body whose own source fails (a file that cannot be read, an upstream stream that breaks) is the caller's
     * failure: the call fails with that exception, no other server is tried, and no server is counted as failing.
     */
    @Test
    void bodySourceFailure_notRetried_notCountedAgainstServer() {
        OkHttpClient client = defaultClient();
        RequestBody failing = new RequestBody() {
            @Override
            public MediaType contentType() {
                return TEXT;
            }

            @Override
            public void writeTo(BufferedSink sink) throws IOException {
                sink.writeUtf8("partial");
                throw new IOException("source broke");
            }
        };

        assertThatThrownBy(() -> bodyOf(client, post(failing)))
                .isInstanceOf(IOException.class)
                .hasMessage("source broke");
        assertThat(orders.pool().list())
                .allSatisfy(v ->
                        assertThat(v.failures()).as("failures of %s", v.id()).isZero());
        assertThat(orders.metrics().inFlight()).isZero();
    }

    @Test
    void retry_allServers503ReturnsLastResponse() throws IOException {
        backendA.setDispatcher(answering(503, "a busy"));
        backendB.setDispatcher(answering(502, "b bad"));
        backendC.setDispatcher(answering(504, "c late"));
        OkHttpClient client = defaultClient();

        assertThat(bodyOf(client, get())).isEqualTo("504 c late");
        assertThat(totalServed()).isEqualTo(3);
        assertThat(orders.metrics().failedRequests()).isEqualTo(3);
        assertThat(inFlight(orders)).isZero();
    }

    @Test
    void retry_maxRetriesBoundsAttempts() throws IOException {
        backendA.setDispatcher(answering(503, "a busy"));
        backendB.setDispatcher(answering(503, "b busy"));
        OkHttpClient client = client(LoadBalancingInterceptor.builder().maxRetries(1));

        assertThat(bodyOf(client, get())).isEqualTo("503 b busy");
        assertThat(totalServed()).isEqualTo(2);
    }

    @Test
    void retry_exhaustedThrowsLastWithEarlierSuppressed() {
        backendA.close();
        backendB.close();
        backendC.close();
        OkHttpClient client = defaultClient();

        assertThatThrownBy(() -> bodyOf(client, get()))
                .isInstanceOf(ConnectException.class)
                .satisfies(e -> assertThat(e.getSuppressed())
                        .hasSize(2)
                        .allSatisfy(s -> assertThat(s).isInstanceOf(ConnectException.class)));
        assertThat(orders.metrics().failedRequests()).isEqualTo(3);
        assertThat(inFlight(orders)).isZero();
    }

    @Test
    void retry_timeoutsStaySocketTimeouts() {
        Dispatcher slow = new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                return new MockResponse.Builder()
                        .headersDelay(5, TimeUnit.SECONDS)
                        .body("late")
                        .build();
            }
        };
        backendA.setDispatcher(slow);
        backendB.setDispatcher(slow);
        backendC.setDispatcher(slow);
        OkHttpClient client = client(LoadBalancingInterceptor.builder().backoff(Duration.ZERO, Duration.ZERO))
                .newBuilder()
                .readTimeout(Duration.ofMillis(100))
                .build();

        assertThatThrownBy(() -> bodyOf(client, get()))
                .isInstanceOf(SocketTimeoutException.class)
                .satisfies(e -> assertThat(e.getSuppressed())
                        .hasSize(2)
                        .allSatisfy(s -> assertThat(s).isInstanceOf(SocketTimeoutException.class)));
        assertThat(orders.metrics().failedRequests()).isEqualTo(3);
        assertThat(inFlight(orders)).isZero();
    }

    @Test
    void retry_budgetHoldsWhenEveryServerAnswers503() throws IOException {
        backendA.setDispatcher(answering(503, "busy"));
        backendB.setDispatcher(answering(503, "busy"));
        backendC.setDispatcher(answering(503, "busy"));
        OkHttpClient client = client(LoadBalancingInterceptor.builder().backoff(Duration.ZERO, Duration.ZERO));
        int calls = 200;
        for (int i = 0; i < calls; i++) {
            assertThat(bodyOf(client, get())).isEqualTo("503 busy");
        }

        long retries = totalServed() - calls;
        // Without a budget every call would try all three servers: 400 retries. With the default budget
        // (20% of calls plus a reserve of 10) at most 50, and the budget is actually spent.
        assertThat(retries).isBetween(40L, 50L);
        assertThat(orders.metrics().retries()).isEqualTo(retries);
        assertThat(inFlight(orders)).isZero();
    }

    @Test
    void retry_budgetIsPerService() throws IOException {
        backendA.setDispatcher(answering(503, "busy"));
        backendB.setDispatcher(answering(503, "busy"));
        backendC.setDispatcher(answering(503, "busy"));
        LoadBalancingInterceptor interceptor = LoadBalancingInterceptor.builder()
                .retryBudget(0.0, 1)
                .backoff(Duration.ZERO, Duration.ZERO)
                .service("orders", orders)
                .service("orders-copy", orders)
                .build();
        OkHttpClient client = TestSupport.client(interceptor);

        bodyOf(client, get());
        bodyOf(client, get());
        bodyOf(client, new Request.Builder().url("http://orders-copy/").build());

        // One retry in each service's reserve: 2 + 1 + 1 + 1 attempts.
        assertThat(totalServed()).isEqualTo(5);
    }

    @Test
    void retry_backoffPausesBeforeBudgetedRetry() throws IOException {
        backendA.setDispatcher(answering(503, "busy"));
        OkHttpClient client =
                client(LoadBalancingInterceptor.builder().backoff(Duration.ofMillis(200), Duration.ofMillis(200)));

        long start = System.nanoTime();
        assertThat(bodyOf(client, get())).isEqualTo("200 b");

        // 200 ms randomized by ±50%.
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(100));
    }
}
