package dev.fairload.lb.examples.core;

import dev.fairload.lb.Lease;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.PickContext;
import dev.fairload.lb.Server;
import dev.fairload.lb.Strategy;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/**
 * The core without any HTTP integration: build a balancer, pick a server for each request, send the request with
 * any client, and report its outcome on the lease. The README and docs/core.md show these methods;
 * {@code CoreExampleTest} runs them against local backends.
 */
public final class CoreExample {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    /** What {@link #forward} got back from a server. */
    public record Response(int status, String body) {}

    private CoreExample() {}

    /** The README's balancer: two servers, the second with three times the weight of the first. */
    public static LoadBalancer weightedBalancer() {
        LoadBalancer lb = LoadBalancer.builder()
                .addServer(Server.of("10.0.0.1", 8080))
                .addServer(Server.builder("10.0.0.2", 8080).weight(3).build())
                .strategy(Strategy.weighted())
                .build();
        return lb;
    }

    /** The README's request path: the status of one request sent through {@code lb}, or 503 when none can go. */
    public static int handle(LoadBalancer lb, String clientIp) throws IOException, InterruptedException {
        try (Lease lease = lb.pick(PickContext.builder().clientAddress(clientIp).build())) {
            if (!lease.isAcquired()) {
                return 503; // lease.unavailableReason() says why
            }
            int status = send(lease.server());
            lease.complete(status); // exactly once; counts, latency and passive health
            return status;
        }
    }

    /** docs/core.md's request path, with a session key for sticky strategies. */
    public static Response handle(LoadBalancer lb, String ip, String sessionId)
            throws IOException, InterruptedException {
        try (Lease lease = lb.pick(
                PickContext.builder().clientAddress(ip).sessionKey(sessionId).build())) {
            if (!lease.isAcquired()) {
                return serviceUnavailable(
                        lease.unavailableReason()); // NO_SERVERS, NO_HEALTHY_SERVER, ALL_TRIED, OVERLOADED
            }
            Response r = forward(lease.server());
            lease.complete(r.status()); // or lease.fail(exception); closing without an outcome just releases
            return r;
        }
    }

    private static Response serviceUnavailable(Lease.Unavailable reason) {
        return new Response(503, "no server: " + reason);
    }

    private static int send(Server server) throws IOException, InterruptedException {
        return forward(server).status();
    }

    private static Response forward(Server server) throws IOException, InterruptedException {
        HttpResponse<String> response = HTTP.send(
                HttpRequest.newBuilder(URI.create("http://" + server.authority() + "/"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        return new Response(response.statusCode(), response.body());
    }
}
