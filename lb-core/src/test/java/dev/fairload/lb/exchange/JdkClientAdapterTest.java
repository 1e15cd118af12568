package dev.fairload.lb.exchange;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.PickContext;
import dev.fairload.lb.Server;
import java.io.IOException;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.junit5.StartStop;
import org.junit.jupiter.api.Test;

/**
 * The adapter shown in docs/core.md, over the JDK's {@link HttpClient}, against real local servers: proof that an
 * adapter of a few lines gets the engine's failover, status retries and session binding.
 */
class JdkClientAdapterTest {
    @StartStop
    private final MockWebServer a = new MockWebServer();

    @StartStop
    private final MockWebServer b = new MockWebServer();

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    // As in docs/core.md ---------------------------------------------------------------------------------------

    static HttpResponse<String> get(HttpClient http, ExchangeEngine engine, String path)
            throws IOException, InterruptedException {
        Exchange exchange = engine.newExchange("GET", PickContext.empty());
        Exchange.Next next = exchange.start();
        HttpResponse<String> response = null;
        IOException last = null;
        try {
            while (next != Exchange.Next.DELIVER) {
                switch (next) {
                    case SEND -> {
                        URI uri = URI.create("http://" + exchange.server().authority() + path);
                        try {
                            response = http.send(
                                    HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
                            next = exchange.onResponse(response.statusCode());
                        } catch (ConnectException e) { // never reached the server
                            last = e;
                            next = exchange.onFailure(e, false);
                        } catch (IOException e) {
                            last = e;
                            next = exchange.onFailure(e, true);
                        }
                    }
                    case RETRY -> {
                        Thread.sleep(exchange.retryDelayMillis()); // a blocking client: this thread waits anyway
                        next = exchange.retry();
                    }
                    default ->
                        throw last != null ? last : new IOException("no server: " + exchange.unavailableReason());
                }
            }
        } catch (InterruptedException e) {
            exchange.cancel(); // not the server's failure
            throw e;
        }
        response.headers().allValues("Set-Cookie").forEach(exchange::onSetCookie);
        exchange.onBodyEnd(); // ofString() has read the whole body
        return response;
    }

    // ----------------------------------------------------------------------------------------------------------

    private static Server server(String id, MockWebServer backend) {
        return Server.builder(backend.getHostName(), backend.getPort()).id(id).build();
    }

    private static int closedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    @Test
    void get_failsOverFromAStoppedServerAnd503_bindsSession() throws Exception {
        a.enqueue(new MockResponse.Builder().code(503).body("busy").build());
        b.enqueue(new MockResponse.Builder()
                .addHeader("Set-Cookie", "JSESSIONID=s1; Path=/")
                .body("ok")
                .build());
        try (LoadBalancer lb = LoadBalancer.builder()
                .name("orders")
                .addServer(
                        Server.builder("127.0.0.1", closedPort()).id("stopped").build())
                .addServer(server("a", a))
                .addServer(server("b", b))
                .build()) {
            ExchangeEngine engine = ExchangeEngine.builder()
                    .backoff(Duration.ofMillis(1), Duration.ofMillis(5))
                    .sessionCookie("JSESSIONID")
                    .build(lb);

            HttpResponse<String> response = get(http, engine, "/items");

            assertThat(response.body()).isEqualTo("ok");
            assertThat(a.getRequestCount()).isEqualTo(1);
            assertThat(lb.sessionServer("s1")).isEqualTo("b");
            assertThat(lb.pool().get("stopped").orElseThrow().failures()).isEqualTo(1);
            assertThat(lb.pool().list())
                    .allSatisfy(s -> assertThat(s.inFlight()).isZero());
        }
    }

    @Test
    void get_noServerLeft_throwsLastFailure() throws Exception {
        try (LoadBalancer lb = LoadBalancer.builder()
                .name("orders")
                .addServer(
                        Server.builder("127.0.0.1", closedPort()).id("stopped").build())
                .build()) {
            ExchangeEngine engine = ExchangeEngine.builder().build(lb);

            assertThatThrownBy(() -> get(http, engine, "/")).isInstanceOf(ConnectException.class);
            assertThat(lb.pool().get("stopped").orElseThrow().inFlight()).isZero();
        }
    }
}
