package dev.fairload.lb.okhttp;

import static dev.fairload.lb.okhttp.TestSupport.answering;
import static dev.fairload.lb.okhttp.TestSupport.balancer;
import static dev.fairload.lb.okhttp.TestSupport.client;
import static dev.fairload.lb.okhttp.TestSupport.inFlight;
import static dev.fairload.lb.okhttp.TestSupport.served;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fairload.lb.Lease;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.PickContext;
import dev.fairload.lb.Server;
import dev.fairload.lb.Strategy;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import mockwebserver3.junit5.StartStop;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.tls.HandshakeCertificates;
import okhttp3.tls.HeldCertificate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class LoadBalancingInterceptorTest {
    @StartStop
    private final MockWebServer backendA = new MockWebServer();

    @StartStop
    private final MockWebServer backendB = new MockWebServer();

    @StartStop
    private final MockWebServer backendC = new MockWebServer();

    @StartStop
    private final MockWebServer other = new MockWebServer();

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

    private OkHttpClient balancedClient() {
        return client(
                LoadBalancingInterceptor.builder().service("orders", orders).build());
    }

    private static String get(OkHttpClient client, String url) throws IOException {
        try (Response response =
                client.newCall(new Request.Builder().url(url).build()).execute()) {
            return response.body().string();
        }
    }

    @Test
    void roundRobin_threeServersExactRotation() throws IOException {
        OkHttpClient client = balancedClient();
        List<String> answers = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            answers.add(get(client, "http://orders/items?page=" + i));
        }

        assertThat(String.join("", answers)).isEqualTo("abc".repeat(10));
        assertThat(backendA.getRequestCount()).isEqualTo(10);
        assertThat(backendB.getRequestCount()).isEqualTo(10);
        assertThat(backendC.getRequestCount()).isEqualTo(10);
        assertThat(served(orders, "a")).isEqualTo(10);
        assertThat(inFlight(orders)).isZero();
        assertThat(orders.metrics().totalRequests()).isEqualTo(30);
    }

    @Test
    void rewrite_keepsPathQueryMethodAndHeaders() throws Exception {
        OkHttpClient client = balancedClient();
        try (Response response = client.newCall(new Request.Builder()
                        .url("http://orders/api/items?id=7&x=a%20b")
                        .header("X-Trace", "t1")
                        .build())
                .execute()) {
            assertThat(response.code()).isEqualTo(200);
        }

        RecordedRequest recorded = backendA.takeRequest();
        assertThat(recorded.getTarget()).isEqualTo("/api/items?id=7&x=a%20b");
        assertThat(recorded.getMethod()).isEqualTo("GET");
        assertThat(recorded.getHeaders().get("X-Trace")).isEqualTo("t1");
    }

    @Test
    void passThrough_otherHostsUntouched() throws Exception {
        other.setDispatcher(answering("other"));
        OkHttpClient client = balancedClient();

        assertThat(get(client, other.url("/direct").toString())).isEqualTo("other");
        assertThat(other.takeRequest().getTarget()).isEqualTo("/direct");
        assertThat(orders.metrics().totalRequests()).isZero();
        assertThat(backendA.getRequestCount() + backendB.getRequestCount() + backendC.getRequestCount())
                .isZero();
    }

    @Test
    void serviceName_matchedCaseInsensitivelyAndAnyPort() throws IOException {
        OkHttpClient client = balancedClient();

        assertThat(get(client, "http://ORDERS/x")).isEqualTo("a");
        assertThat(get(client, "http://orders:9999/x")).isEqualTo("b");
    }

    @Test
    void severalServices_eachGoesToItsOwnServers() throws IOException {
        other.setDispatcher(answering("billing"));
        LoadBalancer billing = LoadBalancer.builder()
                .name("billing")
                .addServer(TestSupport.server("billing-1", other))
                .build();
        OkHttpClient client = client(LoadBalancingInterceptor.builder()
                .service("orders", orders)
                .service("billing", billing)
                .build());

        assertThat(get(client, "http://billing/x")).isEqualTo("billing");
        assertThat(get(client, "http://orders/x")).isEqualTo("a");
        assertThat(billing.metrics().totalRequests()).isEqualTo(1);
        assertThat(orders.metrics().totalRequests()).isEqualTo(1);
        billing.close();
    }

    @Test
    void serverTag_namesTheServerThatAnswered() throws IOException {
        OkHttpClient client = balancedClient();
        try (Response response = client.newCall(
                        new Request.Builder().url("http://orders/").build())
                .execute()) {
            Server server = response.request().tag(Server.class);
            assertThat(server).isNotNull();
            assertThat(server.id()).isEqualTo("a");
            assertThat(response.request().url().port()).isEqualTo(backendA.getPort());
            assertThat(response.body().string()).isEqualTo("a");
        }
    }

    @Test
    void hostHeader_backendAuthorityByDefault() throws Exception {
        get(balancedClient(), "http://orders/");

        assertThat(backendA.takeRequest().getHeaders().get("Host"))
                .isEqualTo(backendA.getHostName() + ":" + backendA.getPort());
    }

    @Test
    void hostHeader_logicalAuthorityWhenPreserved() throws Exception {
        OkHttpClient client = client(LoadBalancingInterceptor.builder()
                .service("orders", orders)
                .preserveHostHeader(true)
                .build());

        get(client, "http://orders/");
        get(client, "http://orders:8080/");

        assertThat(backendA.takeRequest().getHeaders().get("Host")).isEqualTo("orders");
        assertThat(backendB.takeRequest().getHeaders().get("Host")).isEqualTo("orders:8080");
    }

    @Test
    void hostHeader_explicitHeaderKept() throws Exception {
        try (Response response = balancedClient()
                .newCall(new Request.Builder()
                        .url("http://orders/")
                        .header("Host", "shop.example.com")
                        .build())
                .execute()) {
            assertThat(response.code()).isEqualTo(200);
        }

        assertThat(backendA.takeRequest().getHeaders().get("Host")).isEqualTo("shop.example.com");
    }

    @Test
    void noServer_failsNamingServiceAndReason() {
        LoadBalancer empty = LoadBalancer.builder().name("empty").build();
        OkHttpClient client = client(
                LoadBalancingInterceptor.builder().service("orders", empty).build());

        assertThatThrownBy(() -> get(client, "http://orders/"))
                .isInstanceOf(NoServerAvailableException.class)
                .hasMessage("orders: no server available (NO_SERVERS)")
                .satisfies(e -> {
                    NoServerAvailableException exception = (NoServerAvailableException) e;
                    assertThat(exception.service()).isEqualTo("orders");
                    assertThat(exception.reason()).isEqualTo(Lease.Unavailable.NO_SERVERS);
                });
        empty.close();
    }

    @Test
    void pickContextTag_hashKeySelectsSameServer() throws IOException {
        orders.strategy(Strategy.consistentHash());
        OkHttpClient client = balancedClient();
        Set<String> forUser42 = new HashSet<>();
        Set<String> overall = new HashSet<>();
        for (int i = 0; i < 20; i++) {
            PickContext user42 = PickContext.builder().hashKey("user-42").build();
            forUser42.add(call(
                    client,
                    new Request.Builder()
                            .url("http://orders/")
                            .tag(PickContext.class, user42)
                            .build()));
            PickContext anyUser = PickContext.builder().hashKey("user-" + i).build();
            overall.add(call(
                    client,
                    new Request.Builder()
                            .url("http://orders/")
                            .tag(PickContext.class, anyUser)
                            .build()));
        }

        assertThat(forUser42).hasSize(1);
        assertThat(overall).hasSizeGreaterThan(1);
    }

    @Test
    void sticky_sessionHeaderPinsServer() throws IOException {
        OkHttpClient client = client(LoadBalancingInterceptor.builder()
                .service("orders", orders)
                .sessionHeader("X-Session")
                .build());
        List<String> answers = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            answers.add(call(
                    client,
                    new Request.Builder()
                            .url("http://orders/")
                            .header("X-Session", "s-1")
                            .build()));
        }

        assertThat(answers).containsOnly(answers.get(0));
        assertThat(orders.sessionServer("s-1")).isEqualTo(answers.get(0));
    }

    @Test
    void sticky_sessionCookieBoundByResponseThenFollowed() throws IOException {
        backendB.setDispatcher(new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                return new MockResponse.Builder()
                        .addHeader("Set-Cookie", "JSESSIONID=abc123; Path=/; HttpOnly")
                        .body("b")
                        .build();
            }
        });
        OkHttpClient client = client(LoadBalancingInterceptor.builder()
                .service("orders", orders)
                .sessionCookie("JSESSIONID")
                .build());

        assertThat(get(client, "http://orders/")).isEqualTo("a");
        assertThat(get(client, "http://orders/login")).isEqualTo("b");
        assertThat(orders.sessionServer("abc123")).isEqualTo("b");
        for (int i = 0; i < 4; i++) {
            assertThat(call(
                            client,
                            new Request.Builder()
                                    .url("http://orders/cart")
                                    .header("Cookie", "theme=dark; JSESSIONID=abc123")
                                    .build()))
                    .isEqualTo("b");
        }
    }

    @Test
    void sticky_sessionCookieSetBy500Bound_deletedAtLogoutUnbound() throws IOException {
        Dispatcher sessions = new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                if (request.getUrl().encodedPath().equals("/login")) {
                    return new MockResponse.Builder()
                            .code(500)
                            .addHeader("Set-Cookie", "JSESSIONID=s-500; Path=/")
                            .body("half-done")
                            .build();
                }
                return new MockResponse.Builder()
                        .addHeader("Set-Cookie", "JSESSIONID=; Max-Age=0; Path=/")
                        .body("bye")
                        .build();
            }
        };
        backendA.setDispatcher(sessions);
        backendB.setDispatcher(sessions);
        backendC.setDispatcher(sessions);
        OkHttpClient client = client(LoadBalancingInterceptor.builder()
                .service("orders", orders)
                .sessionCookie("JSESSIONID")
                .build());

        // The 500 created the session on its server (500 is not in retryOnStatus): the client keeps the cookie.
        assertThat(get(client, "http://orders/login")).isEqualTo("half-done");
        assertThat(orders.sessionServer("s-500")).isEqualTo("a");

        assertThat(call(
                        client,
                        new Request.Builder()
                                .url("http://orders/logout")
                                .header("Cookie", "JSESSIONID=s-500")
                                .build()))
                .isEqualTo("bye");
        assertThat(orders.sessionServer("s-500")).isNull();
        assertThat(backendA.getRequestCount()).isEqualTo(2);
    }

    @Test
    void sticky_hashCookieWithConsistentHash() throws IOException {
        orders.strategy(Strategy.consistentHash());
        OkHttpClient client = client(LoadBalancingInterceptor.builder()
                .service("orders", orders)
                .hashCookie("user")
                .build());
        Set<String> answers = new HashSet<>();
        for (int i = 0; i < 10; i++) {
            answers.add(call(
                    client,
                    new Request.Builder()
                            .url("http://orders/")
                            .header("Cookie", "user=u-7")
                            .build()));
        }

        assertThat(answers).hasSize(1);
    }

    @Test
    void https_backendsWithClientTlsSettings() throws Exception {
        HeldCertificate ca =
                new HeldCertificate.Builder().certificateAuthority(0).build();
        HeldCertificate leaf = new HeldCertificate.Builder()
                .addSubjectAlternativeName(other.getHostName())
                .signedBy(ca)
                .build();
        HandshakeCertificates serverCerts =
                new HandshakeCertificates.Builder().heldCertificate(leaf).build();
        HandshakeCertificates clientCerts = new HandshakeCertificates.Builder()
                .addTrustedCertificate(ca.certificate())
                .build();
        MockWebServer secure = new MockWebServer();
        secure.useHttps(serverCerts.sslSocketFactory());
        secure.setDispatcher(answering("secure"));
        secure.start();
        LoadBalancer tls = LoadBalancer.builder()
                .name("secure")
                .addServer(TestSupport.server("s", secure))
                .build();
        try {
            OkHttpClient client = new OkHttpClient.Builder()
                    .addInterceptor(LoadBalancingInterceptor.builder()
                            .service("secure", tls, "https")
                            .build())
                    .sslSocketFactory(clientCerts.sslSocketFactory(), clientCerts.trustManager())
                    .build();

            try (Response response = client.newCall(
                            new Request.Builder().url("http://secure/x").build())
                    .execute()) {
                assertThat(response.body().string()).isEqualTo("secure");
                assertThat(response.request().url().scheme()).isEqualTo("https");
                assertThat(response.handshake()).isNotNull();
            }
            assertThat(secure.takeRequest().getHandshake()).isNotNull();
            assertThat(inFlight(tls)).isZero();
        } finally {
            tls.close();
            secure.close();
        }
    }

    @Test
    void networkInterceptor_failsFast() {
        OkHttpClient client = new OkHttpClient.Builder()
                .addNetworkInterceptor(LoadBalancingInterceptor.builder()
                        .service(backendA.getHostName(), orders)
                        .build())
                .build();

        assertThatThrownBy(() -> get(client, backendA.url("/").toString()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("addInterceptor");
        assertThat(inFlight(orders)).isZero();
    }

    @Test
    void builder_validatesWithFieldNames() {
        LoadBalancingInterceptor.Builder builder = LoadBalancingInterceptor.builder();

        assertThatThrownBy(() -> builder.maxRetries(11)).hasMessage("maxRetries: 11 (expected: 0-10)");
        assertThatThrownBy(() -> builder.retryBudget(1.5)).hasMessage("retryBudget: 1.5 (expected: 0.0-1.0)");
        assertThatThrownBy(() -> builder.retryBudget(0.2, -1)).hasMessage("reserve: -1 (expected: 0-1000)");
        assertThatThrownBy(() -> builder.retryOnStatus(java.util.List.of(502, 404)))
                .hasMessage("retryOnStatus: 404 (expected: 500-599)");
        assertThatThrownBy(() -> builder.retryOnStatus(java.util.List.of(600)))
                .hasMessage("retryOnStatus: 600 (expected: 500-599)");
        assertThatThrownBy(() -> builder.backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
                .hasMessage("max: PT1S (expected: >= initial PT2S)");
        assertThatThrownBy(() -> builder.service("orders/x", orders))
                .hasMessage("name: 'orders/x' (expected: a host name such as orders)");
        assertThatThrownBy(() -> builder.service("orders", orders, "ftp"))
                .hasMessage("backendScheme: 'ftp' (expected: http or https)");
        assertThatThrownBy(() -> builder.sessionCookie("a b"))
                .hasMessage("sessionCookie: 'a b' (expected: a header or cookie name)");
        assertThatThrownBy(builder::build)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("services: none");
        builder.service("Orders", orders);
        assertThatThrownBy(() -> builder.service("orders", orders)).hasMessage("name: 'orders' is already registered");
        assertThat(builder.build().services()).containsExactly("orders");
    }

    private static String call(OkHttpClient client, Request request) throws IOException {
        try (Response response = client.newCall(request).execute()) {
            return response.body().string();
        }
    }
}
