package dev.fairload.lb.examples.servlet;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.servlet.ProxyRegistration;
import dev.fairload.lb.servlet.ProxyRuntime;
import jakarta.servlet.ServletContainerInitializer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServletSnippetsTest {
    private final HttpClient http = HttpClient.newHttpClient();
    private final List<AutoCloseable> cleanup = new ArrayList<>();
    private HttpServer backend;

    @AfterEach
    void stop() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).close();
        }
        if (backend != null) {
            backend.stop(0);
        }
    }

    private LoadBalancer balancer() throws IOException {
        backend = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        backend.createContext("/", exchange -> {
            byte[] body = ("backend " + exchange.getRequestURI().getPath()).getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        backend.start();
        LoadBalancer lb = LoadBalancer.builder()
                .addServer(Server.builder("127.0.0.1", backend.getAddress().getPort())
                        .id("b1")
                        .build())
                .build();
        cleanup.add(lb);
        return lb;
    }

    /** Starts an embedded Jetty on a free loopback port whose context is set up by {@code initializer}. */
    private String start(ServletContainerInitializer initializer) throws Exception {
        org.eclipse.jetty.server.Server app = new org.eclipse.jetty.server.Server();
        ServerConnector connector = new ServerConnector(app);
        connector.setHost("127.0.0.1");
        app.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler("/");
        context.addServletContainerInitializer(initializer);
        app.setHandler(context);
        app.start();
        cleanup.add(app::stop);
        return "http://127.0.0.1:" + connector.getLocalPort();
    }

    private HttpResponse<String> get(String url) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url));
        String token = System.getenv("LB_ADMIN_TOKEN");
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void registerProxyAndAdmin_proxiesBackendAndServesTheAdminApi() throws Exception {
        LoadBalancer lb = balancer();
        AtomicReference<ProxyRuntime> runtime = new AtomicReference<>();
        String base = start(
                (classes, servletContext) -> runtime.set(ServletSnippets.registerProxyAndAdmin(servletContext, lb)));
        cleanup.add(() -> runtime.get().close());

        HttpResponse<String> proxied = get(base + "/backend/orders/1");
        assertThat(proxied.statusCode()).isEqualTo(200);
        assertThat(proxied.body()).startsWith("backend ");

        HttpResponse<String> servers = get(base + "/api/servers");
        assertThat(servers.statusCode()).isEqualTo(200);
        assertThat(servers.body()).contains("\"b1\"");
    }

    @Test
    void registerAdmin_servesTheAdminApiNextToTheProxy(@TempDir Path dir) throws Exception {
        LoadBalancer lb = balancer();
        ProxyRuntime runtime = ProxyRuntime.builder(lb).build();
        cleanup.add(runtime::close);
        String base = start((classes, servletContext) -> {
            ProxyRegistration.register(servletContext, "/lb/*", runtime);
            ServletSnippets.registerAdmin(servletContext, runtime, dir.resolve("state.json"));
        });

        assertThat(get(base + "/lb/orders/1").body()).isEqualTo("backend /orders/1");
        HttpResponse<String> requests = get(base + "/api/metrics/requests");
        assertThat(requests.statusCode()).isEqualTo(200);
        assertThat(requests.body()).contains("/orders/1");
    }
}
