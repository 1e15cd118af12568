package dev.fairload.lb.okhttp;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.ServerView;
import dev.fairload.lb.Strategy;
import java.util.concurrent.TimeUnit;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import okhttp3.ConnectionPool;
import okhttp3.OkHttpClient;

/** Backends, balancers and clients for the integration tests. */
final class TestSupport {
    private TestSupport() {}

    /** A backend that answers every request 200 with its own name as the body. */
    static Dispatcher answering(String name) {
        return answering(200, name);
    }

    /** A backend that answers every request with {@code code} and {@code body}. */
    static Dispatcher answering(int code, String body) {
        return new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                return new MockResponse.Builder().code(code).body(body).build();
            }
        };
    }

    static Server server(String id, MockWebServer backend) {
        return Server.builder(backend.getHostName(), backend.getPort()).id(id).build();
    }

    /** A round-robin balancer named {@code orders} over the backends, with ids a, b, c, ... */
    static LoadBalancer balancer(MockWebServer... backends) {
        return balancer(Strategy.roundRobin(), backends);
    }

    static LoadBalancer balancer(Strategy strategy, MockWebServer... backends) {
        LoadBalancer.Builder builder = LoadBalancer.builder().name("orders").strategy(strategy);
        for (int i = 0; i < backends.length; i++) {
            builder.addServer(server(String.valueOf((char) ('a' + i)), backends[i]));
        }
        return builder.build();
    }

    static OkHttpClient client(LoadBalancingInterceptor interceptor) {
        return new OkHttpClient.Builder()
                .addInterceptor(interceptor)
                .connectionPool(new ConnectionPool(64, 1, TimeUnit.MINUTES))
                .build();
    }

    static long inFlight(LoadBalancer lb) {
        return lb.pool().list().stream().mapToLong(ServerView::inFlight).sum();
    }

    static long served(LoadBalancer lb, String id) {
        return lb.pool().get(id).orElseThrow().totalRequests();
    }

    static long failures(LoadBalancer lb, String id) {
        return lb.pool().get(id).orElseThrow().failures();
    }
}
