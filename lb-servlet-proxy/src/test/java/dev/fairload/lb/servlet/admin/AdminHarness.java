package dev.fairload.lb.servlet.admin;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.health.ActiveHealthCheck;
import dev.fairload.lb.servlet.ProxyConfig;
import dev.fairload.lb.servlet.ProxyRegistration;
import dev.fairload.lb.servlet.ProxyRuntime;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * A balancer, a runtime, and a real Jetty 12 on 127.0.0.1 serving the proxy servlet on one port and the admin servlet
 * under {@code /api/*} on another, as the standalone proxy does; plus an HTTP client for both.
 */
final class AdminHarness implements AutoCloseable {
    static final MediaType JSON_TYPE = MediaType.get("application/json");

    final LoadBalancer lb;
    final ProxyRuntime runtime;
    final AdminServlet admin;
    private final org.eclipse.jetty.server.Server proxyServer;
    private final org.eclipse.jetty.server.Server adminServer;
    final int proxyPort;
    final int adminPort;
    final OkHttpClient client = new OkHttpClient.Builder()
            .retryOnConnectionFailure(false)
            .readTimeout(30, TimeUnit.SECONDS)
            .build();
    String token;

    /** A fresh JSON answer: status, headers and parsed body. */
    record Answer(int code, okhttp3.Headers headers, String text, Map<String, Object> json) {
        @SuppressWarnings("unchecked")
        Map<String, Object> data() {
            return (Map<String, Object>) json.get("data");
        }

        @SuppressWarnings("unchecked")
        List<Map<String, Object>> dataList() {
            return (List<Map<String, Object>>) json.get("data");
        }

        String error() {
            return (String) json.get("error");
        }
    }

    AdminHarness(LoadBalancer.Builder lbBuilder, ProxyConfig config, Consumer<AdminServlet.Builder> adminOptions)
            throws Exception {
        lb = lbBuilder.build();
        runtime = ProxyRuntime.builder(lb).config(config).closeBalancer(true).build();
        AdminServlet.Builder b = AdminServlet.builder(runtime);
        adminOptions.accept(b);
        admin = b.build();

        proxyServer = new org.eclipse.jetty.server.Server(new QueuedThreadPool(32, 2));
        ServerConnector pc = new ServerConnector(proxyServer);
        pc.setHost("127.0.0.1");
        proxyServer.addConnector(pc);
        ServletContextHandler proxyContext = new ServletContextHandler("/");
        proxyContext.addServletContainerInitializer(ProxyRegistration.initializer("/*", runtime));
        proxyServer.setHandler(proxyContext);
        proxyServer.start();
        proxyPort = pc.getLocalPort();

        adminServer = new org.eclipse.jetty.server.Server(new QueuedThreadPool(16, 2));
        ServerConnector ac = new ServerConnector(adminServer);
        ac.setHost("127.0.0.1");
        adminServer.addConnector(ac);
        ServletContextHandler adminContext = new ServletContextHandler("/");
        adminContext.addServletContainerInitializer((classes, ctx) -> AdminServlet.register(ctx, admin));
        adminServer.setHandler(adminContext);
        adminServer.start();
        adminPort = ac.getLocalPort();
    }

    /** No servers, health checks every 2 s with a 1 s timeout. */
    static AdminHarness started() throws Exception {
        return new AdminHarness(
                LoadBalancer.builder().name("admin-test"),
                ProxyConfig.builder()
                        .healthCheckInterval(2)
                        .healthCheckTimeout(1)
                        .build(),
                b -> {});
    }

    static ActiveHealthCheck fastChecks() {
        return ActiveHealthCheck.builder()
                .interval(Duration.ofSeconds(2))
                .timeout(Duration.ofSeconds(1))
                .rise(1)
                .fall(1)
                .build();
    }

    String adminUrl(String path) {
        return "http://127.0.0.1:" + adminPort + path;
    }

    String proxyUrl(String path) {
        return "http://127.0.0.1:" + proxyPort + path;
    }

    Answer get(String path) throws IOException {
        return call(new Request.Builder().url(adminUrl(path)));
    }

    Answer post(String path, String json) throws IOException {
        return call(new Request.Builder().url(adminUrl(path)).post(RequestBody.create(json, JSON_TYPE)));
    }

    Answer put(String path, String json) throws IOException {
        return call(new Request.Builder().url(adminUrl(path)).put(RequestBody.create(json, JSON_TYPE)));
    }

    Answer delete(String path) throws IOException {
        return call(new Request.Builder().url(adminUrl(path)).delete());
    }

    Answer call(Request.Builder request) throws IOException {
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        try (Response r = client.newCall(request.build()).execute()) {
            String text = r.body().string();
            Map<String, Object> json = null;
            String type = r.header("Content-Type", "");
            if (type.startsWith("application/json")) {
                json = JSON.std.mapFrom(text);
            }
            return new Answer(r.code(), r.headers(), text, json);
        }
    }

    /** Sends a GET through the proxy and returns the status. */
    int proxied(String path) throws IOException {
        try (Response r = client.newCall(
                        new Request.Builder().url(proxyUrl(path)).build())
                .execute()) {
            r.body().string();
            return r.code();
        }
    }

    static String json(Object value) {
        try {
            return JSON.std.asString(value);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() throws Exception {
        try {
            adminServer.stop();
            proxyServer.stop();
        } finally {
            runtime.close();
            client.dispatcher().executorService().shutdown();
            client.connectionPool().evictAll();
        }
    }
}
