package dev.fairload.lb.okhttp;

import static dev.fairload.lb.okhttp.TestSupport.answering;
import static dev.fairload.lb.okhttp.TestSupport.balancer;
import static dev.fairload.lb.okhttp.TestSupport.failures;
import static dev.fairload.lb.okhttp.TestSupport.inFlight;
import static dev.fairload.lb.okhttp.TestSupport.served;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fairload.lb.LoadBalancer;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import mockwebserver3.junit5.StartStop;
import okhttp3.Call;
import okhttp3.Callback;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okio.BufferedSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** In-flight counts return to zero however a call ends. */
class InFlightTest {
    private static final String BODY = "x".repeat(64 * 1024);

    @StartStop
    private final MockWebServer backend = new MockWebServer();

    private LoadBalancer orders;
    private OkHttpClient client;

    @BeforeEach
    void setUp() {
        backend.setDispatcher(answering(BODY));
        orders = balancer(backend);
        client = TestSupport.client(LoadBalancingInterceptor.builder()
                .service("orders", orders)
                .maxRetries(0)
                .build());
    }

    @AfterEach
    void tearDown() {
        orders.close();
    }

    private static Request get() {
        return new Request.Builder().url("http://orders/items").build();
    }

    private static Dispatcher respondingWith(MockResponse response) {
        return new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                return response;
            }
        };
    }

    @Test
    void inFlight_heldUntilBodyReadToEnd() throws IOException {
        try (Response response = client.newCall(get()).execute()) {
            assertThat(inFlight(orders)).isEqualTo(1);

            BufferedSource source = response.body().source();
            assertThat(source.readUtf8()).hasSize(BODY.length());

            // Released at the end of the stream, before the caller closes.
            assertThat(inFlight(orders)).isZero();
        }
        assertThat(served(orders, "a")).isEqualTo(1);
        assertThat(failures(orders, "a")).isZero();
    }

    @Test
    void inFlight_releasedByStringRead() throws IOException {
        try (Response response = client.newCall(get()).execute()) {
            assertThat(response.body().string()).hasSize(BODY.length());
        }
        assertThat(inFlight(orders)).isZero();
        assertThat(orders.metrics().totalRequests()).isEqualTo(1);
    }

    @Test
    void inFlight_unreadBodyClosed() throws IOException {
        Response response = client.newCall(get()).execute();
        assertThat(inFlight(orders)).isEqualTo(1);

        response.close();

        assertThat(inFlight(orders)).isZero();
        assertThat(served(orders, "a")).isEqualTo(1);
        assertThat(failures(orders, "a")).isZero();
    }

    @Test
    void inFlight_partlyReadBodyClosed() throws IOException {
        Response response = client.newCall(get()).execute();
        assertThat(response.body().source().readUtf8(10)).hasSize(10);
        assertThat(inFlight(orders)).isEqualTo(1);

        response.close();

        assertThat(inFlight(orders)).isZero();
    }

    @Test
    void inFlight_bodylessResponseReleasedAtHeaders() throws IOException {
        Response response = client.newCall(
                        new Request.Builder().url("http://orders/items").head().build())
                .execute();

        assertThat(inFlight(orders)).isZero();
        assertThat(served(orders, "a")).isEqualTo(1);
        response.close();
    }

    @Test
    void inFlight_cancelledWhileWaitingForHeaders() {
        backend.setDispatcher(respondingWith(new MockResponse.Builder()
                .headersDelay(10, TimeUnit.SECONDS)
                .body("late")
                .build()));
        Call call = client.newCall(get());
        CompletableFuture<IOException> failure = new CompletableFuture<>();
        call.enqueue(new Callback() {
            @Override
            public void onFailure(Call call, IOException e) {
                failure.complete(e);
            }

            @Override
            public void onResponse(Call call, Response response) {
                response.close();
                failure.complete(null);
            }
        });
        await().until(() -> backend.getRequestCount() == 1);
        assertThat(inFlight(orders)).isEqualTo(1);

        call.cancel();

        await().until(() -> inFlight(orders) == 0);
        assertThat(failure).succeedsWithin(Duration.ofSeconds(5)).isNotNull();
        // A cancel is the caller's doing: the server is not blamed.
        assertThat(failures(orders, "a")).isZero();
    }

    @Test
    void inFlight_cancelledWhileReadingBody() throws IOException {
        backend.setDispatcher(respondingWith(new MockResponse.Builder()
                .body(BODY)
                .throttleBody(1024, 1, TimeUnit.SECONDS)
                .build()));
        Call call = client.newCall(get());
        try (Response response = call.execute()) {
            assertThat(inFlight(orders)).isEqualTo(1);

            call.cancel();

            assertThatThrownBy(() -> response.body().string()).isInstanceOf(IOException.class);
            assertThat(inFlight(orders)).isZero();
        }
        assertThat(failures(orders, "a")).isZero();
    }

    @Test
    void inFlight_readTimeoutWaitingForHeaders() {
        backend.setDispatcher(respondingWith(new MockResponse.Builder()
                .headersDelay(5, TimeUnit.SECONDS)
                .body("late")
                .build()));
        OkHttpClient impatient =
                client.newBuilder().readTimeout(Duration.ofMillis(100)).build();

        assertThatThrownBy(() -> impatient.newCall(get()).execute()).isInstanceOf(SocketTimeoutException.class);
        assertThat(inFlight(orders)).isZero();
        assertThat(failures(orders, "a")).isEqualTo(1);
    }

    @Test
    void inFlight_readTimeoutInBody() throws IOException {
        backend.setDispatcher(respondingWith(new MockResponse.Builder()
                .body(BODY)
                .throttleBody(1024, 5, TimeUnit.SECONDS)
                .build()));
        OkHttpClient impatient =
                client.newBuilder().readTimeout(Duration.ofMillis(200)).build();

        try (Response response = impatient.newCall(get()).execute()) {
            assertThat(inFlight(orders)).isEqualTo(1);
            assertThatThrownBy(() -> response.body().string()).isInstanceOf(SocketTimeoutException.class);
            assertThat(inFlight(orders)).isZero();
        }
        assertThat(failures(orders, "a")).isEqualTo(1);
    }

    @Test
    void inFlight_callTimeout() {
        backend.setDispatcher(respondingWith(new MockResponse.Builder()
                .headersDelay(5, TimeUnit.SECONDS)
                .body("late")
                .build()));
        OkHttpClient impatient =
                client.newBuilder().callTimeout(Duration.ofMillis(200)).build();

        assertThatThrownBy(() -> impatient.newCall(get()).execute()).isInstanceOf(InterruptedIOException.class);
        await().until(() -> inFlight(orders) == 0);
    }

    @Test
    void inFlight_laterInterceptorThrowsUnchecked() {
        OkHttpClient failing = client.newBuilder()
                .addInterceptor(chain -> {
                    throw new IllegalStateException("broken interceptor");
                })
                .build();

        assertThatThrownBy(() -> failing.newCall(get()).execute())
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("broken interceptor");
        assertThat(inFlight(orders)).isZero();
        assertThat(failures(orders, "a")).isZero();
    }

    @Test
    void inFlight_laterInterceptorThrowsIoExceptionAfterResponse() {
        OkHttpClient failing = client.newBuilder()
                .addInterceptor(chain -> {
                    Response response = chain.proceed(chain.request());
                    response.close();
                    throw new IOException("rejected by policy");
                })
                .build();

        assertThatThrownBy(() -> failing.newCall(get()).execute()).hasMessage("rejected by policy");
        assertThat(inFlight(orders)).isZero();
        assertThat(backend.getRequestCount()).isEqualTo(1);
    }

    @Test
    void inFlight_laterInterceptorDropsResponseAndThrows() {
        OkHttpClient failing = client.newBuilder()
                .addInterceptor(chain -> {
                    chain.proceed(chain.request()); // abandoned without closing
                    throw new IOException("lost response");
                })
                .build();

        assertThatThrownBy(() -> failing.newCall(get()).execute()).hasMessage("lost response");
        assertThat(inFlight(orders)).isZero();
    }

    @Test
    void inFlight_asyncCallReleasedWhenCallbackCloses() {
        CompletableFuture<Integer> length = new CompletableFuture<>();
        client.newCall(get()).enqueue(new Callback() {
            @Override
            public void onFailure(Call call, IOException e) {
                length.completeExceptionally(e);
            }

            @Override
            public void onResponse(Call call, Response response) throws IOException {
                try (response) {
                    length.complete(response.body().string().length());
                }
            }
        });

        assertThat(length).succeedsWithin(Duration.ofSeconds(5)).isEqualTo(BODY.length());
        await().until(() -> inFlight(orders) == 0);
        assertThat(served(orders, "a")).isEqualTo(1);
    }
}
