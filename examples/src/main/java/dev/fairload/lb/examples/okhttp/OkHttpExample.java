package dev.fairload.lb.examples.okhttp;

import com.sun.net.httpserver.HttpServer;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.Strategy;
import dev.fairload.lb.okhttp.LoadBalancingInterceptor;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import okhttp3.ConnectionPool;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * Client-side balancing with OkHttp: three local backends play the {@code orders} service, an {@link
 * OkHttpClient} calls {@code http://orders/...}, and the interceptor spreads the calls over the backends. Then
 * one backend stops, and the calls keep succeeding on the other two.
 *
 * <p>Run {@link #main} from an IDE; {@code OkHttpExampleTest} runs it in every build. Everything listens on
 * 127.0.0.1 on free ports and is stopped at the end.
 */
public final class OkHttpExample {

    /** What the example observed: answers per backend before and after one backend stopped. */
    public record Result(Map<String, Integer> before, Map<String, Integer> afterStop, int failedCalls) {}

    private OkHttpExample() {}

    public static void main(String[] args) throws IOException {
        run(System.out);
    }

    public static Result run(PrintStream out) throws IOException {
        List<HttpServer> backends = new ArrayList<>();
        for (String name : List.of("orders-1", "orders-2", "orders-3")) {
            backends.add(startBackend(name));
        }
        try {
            LoadBalancer.Builder servers = LoadBalancer.builder().name("orders").strategy(Strategy.roundRobin());
            for (int i = 0; i < backends.size(); i++) {
                int port = backends.get(i).getAddress().getPort();
                servers.addServer(Server.builder("127.0.0.1", port)
                        .id("orders-" + (i + 1))
                        .build());
            }
            try (LoadBalancer orders = servers.build()) {
                OkHttpClient client = new OkHttpClient.Builder()
                        .addInterceptor(LoadBalancingInterceptor.builder()
                                .service("orders", orders)
                                .build())
                        // One idle connection per backend and concurrent call; OkHttp's default keeps 5.
                        .connectionPool(new ConnectionPool(16, 5, TimeUnit.MINUTES))
                        .build();

                Map<String, Integer> before = callOrders(client, 9, out);
                out.println("Stopping orders-2");
                backends.get(1).stop(0);
                Map<String, Integer> after = callOrders(client, 6, out);
                out.println("Answers before: " + before + ", after orders-2 stopped: " + after);

                client.dispatcher().executorService().shutdown();
                client.connectionPool().evictAll();
                return new Result(before, after, 15 - count(before) - count(after));
            }
        } finally {
            for (HttpServer backend : backends) {
                backend.stop(0);
            }
        }
    }

    private static Map<String, Integer> callOrders(OkHttpClient client, int calls, PrintStream out) {
        Map<String, Integer> answers = new TreeMap<>();
        for (int i = 0; i < calls; i++) {
            Request request =
                    new Request.Builder().url("http://orders/orders/" + i).build();
            try (Response response = client.newCall(request).execute()) {
                String body = response.body().string();
                out.println("GET " + request.url().encodedPath() + " -> " + response.code() + " " + body);
                answers.merge(body, 1, Integer::sum);
            } catch (IOException e) {
                out.println("GET " + request.url().encodedPath() + " failed: " + e);
            }
        }
        return answers;
    }

    private static int count(Map<String, Integer> answers) {
        return answers.values().stream().mapToInt(Integer::intValue).sum();
    }

    private static HttpServer startBackend(String name) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            byte[] body = name.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        return server;
    }
}
