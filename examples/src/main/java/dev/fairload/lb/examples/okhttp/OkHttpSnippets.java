package dev.fairload.lb.examples.okhttp;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.event.LbEvent;
import dev.fairload.lb.okhttp.LoadBalancingInterceptor;
import java.util.concurrent.TimeUnit;
import okhttp3.ConnectionPool;
import okhttp3.OkHttpClient;

/**
 * The OkHttp snippets of README.md and docs/okhttp.md: a balancer for the {@code orders} service, a client that
 * balances calls to {@code http://orders/...} over it, and a client that closes idle connections when a server
 * leaves. {@code OkHttpSnippetsTest} calls local backends through both clients.
 */
public final class OkHttpSnippets {
    private OkHttpSnippets() {}

    /** The docs' {@code orders} balancer (two servers on a private network; not started by the tests). */
    public static LoadBalancer orders() {
        LoadBalancer orders = LoadBalancer.builder()
                .name("orders")
                .addServer(Server.of("10.0.0.1", 8080))
                .addServer(Server.of("10.0.0.2", 8080))
                .build();
        return orders;
    }

    /** A client whose calls to {@code http://orders/...} go to the servers of {@code orders}. */
    public static OkHttpClient client(LoadBalancer orders) {
        OkHttpClient client = new OkHttpClient.Builder()
                .addInterceptor(LoadBalancingInterceptor.builder()
                        .service("orders", orders)
                        .build())
                .build();
        return client;
    }

    /** As {@link #client}, and a removed server's idle connections are closed at once. */
    public static OkHttpClient evictingClient(LoadBalancer orders) {
        ConnectionPool connections = new ConnectionPool(64, 5, TimeUnit.MINUTES);
        orders.addListener(event -> {
            if (event instanceof LbEvent.ServerRemoved) {
                connections.evictAll(); // idle connections only; calls in flight finish
            }
        });
        OkHttpClient client = new OkHttpClient.Builder()
                .addInterceptor(LoadBalancingInterceptor.builder()
                        .service("orders", orders)
                        .build())
                .connectionPool(connections)
                .build();
        return client;
    }
}
