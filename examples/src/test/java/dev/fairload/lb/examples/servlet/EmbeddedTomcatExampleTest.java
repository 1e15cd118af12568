package dev.fairload.lb.examples.servlet;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class EmbeddedTomcatExampleTest {

    @Test
    void tomcatListens_andSpreadsRequestsOverBothBackends() throws Exception {
        HttpServer a = backend("a");
        HttpServer b = backend("b");
        try (EmbeddedTomcatExample example = EmbeddedTomcatExample.start(
                0, a.getAddress().getPort(), b.getAddress().getPort())) {
            HttpClient client = HttpClient.newHttpClient();
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < 4; i++) {
                HttpResponse<String> r = client.send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + example.port() + "/lb/x"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).isEqualTo(200);
                seen.add(r.body());
            }
            assertThat(seen).containsExactlyInAnyOrder("a /x", "b /x");
        } finally {
            a.stop(0);
            b.stop(0);
        }
    }

    private static HttpServer backend(String name) throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            byte[] body = (name + " " + exchange.getRequestURI().getPath()).getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        return server;
    }
}
