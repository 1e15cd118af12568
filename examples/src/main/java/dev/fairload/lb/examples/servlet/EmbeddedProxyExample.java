package dev.fairload.lb.examples.servlet;

import com.sun.net.httpserver.HttpServer;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.Strategy;
import dev.fairload.lb.servlet.ProxyRegistration;
import dev.fairload.lb.servlet.ProxyRuntime;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.ServerConnector;

/**
 * A reverse proxy inside your own web application: an embedded Jetty 12 (ee10) app serves its own page at {@code
 * /hello} and forwards everything under {@code /api/*} to two backends through Fairload's {@code ProxyServlet},
 * round robin. The prefix is removed on the way: {@code /api/orders/1} reaches a backend as {@code /orders/1}.
 *
 * <p>Run {@link #main} from an IDE; {@code EmbeddedProxyExampleTest} runs it in every build. Everything listens on
 * 127.0.0.1 on free ports and is stopped at the end.
 */
public final class EmbeddedProxyExample {

    /** What the example observed: the app's own page, and each proxied answer in order. */
    public record Result(String ownPage, List<String> answers, int appPort) {

        /** Answers per backend, such as {@code {orders-1=2, orders-2=2}}. */
        public Map<String, Integer> perBackend() {
            Map<String, Integer> counts = new TreeMap<>();
            answers.forEach(answer -> counts.merge(answer.split(" ")[0], 1, Integer::sum));
            return counts;
        }
    }

    private EmbeddedProxyExample() {}

    public static void main(String[] args) throws Exception {
        run(System.out);
    }

    public static Result run(PrintStream out) throws Exception {
        HttpServer orders1 = startBackend("orders-1");
        HttpServer orders2 = startBackend("orders-2");
        LoadBalancer lb = LoadBalancer.builder()
                .strategy(Strategy.roundRobin())
                .addServer(Server.of("127.0.0.1", orders1.getAddress().getPort()))
                .addServer(Server.of("127.0.0.1", orders2.getAddress().getPort()))
                .build();
        // The runtime owns the upstream client; closeBalancer(true) lets runtime.close() close the balancer too.
        ProxyRuntime runtime = ProxyRuntime.builder(lb).closeBalancer(true).build();

        // The application: its own servlet, plus the proxy under /api/* (registered through its
        // ServletContainerInitializer).
        org.eclipse.jetty.server.Server app = new org.eclipse.jetty.server.Server();
        ServerConnector connector = new ServerConnector(app);
        connector.setHost("127.0.0.1");
        app.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler("/");
        context.addServlet(new ServletHolder(new HelloServlet()), "/hello");
        context.addServletContainerInitializer(ProxyRegistration.initializer("/api/*", runtime));
        app.setHandler(context);
        app.start();
        try {
            HttpClient client = HttpClient.newHttpClient();
            String base = "http://127.0.0.1:" + connector.getLocalPort();
            String ownPage = get(client, base + "/hello", out);
            List<String> answers = new ArrayList<>();
            for (int i = 1; i <= 4; i++) {
                answers.add(get(client, base + "/api/orders/" + i, out));
            }
            return new Result(ownPage, answers, connector.getLocalPort());
        } finally {
            app.stop();
            runtime.close();
            orders1.stop(0);
            orders2.stop(0);
        }
    }

    private static String get(HttpClient client, String url, PrintStream out) throws IOException, InterruptedException {
        HttpResponse<String> response =
                client.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
        out.println("GET " + URI.create(url).getPath() + " -> " + response.statusCode() + " " + response.body());
        return response.body();
    }

    /** The application's own page, served next to the proxy. */
    private static final class HelloServlet extends HttpServlet {
        @Override
        protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
            response.setContentType("text/plain");
            response.getWriter().print("hello from the app");
        }
    }

    /** A backend that answers with its name and the path it received. */
    private static HttpServer startBackend(String name) throws IOException {
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
