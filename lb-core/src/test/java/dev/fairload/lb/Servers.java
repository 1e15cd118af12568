package dev.fairload.lb;

import java.util.List;
import java.util.stream.IntStream;

/** Test servers: loopback addresses that are never dialled by these tests. */
final class Servers {
    private Servers() {}

    static Server server(String id, int weight) {
        int n = id.chars().sum();
        return Server.builder("127.0." + (n % 250) + "." + (1 + id.length()), 8000 + n % 1000)
                .id(id)
                .weight(weight)
                .build();
    }

    static List<Server> numbered(int count) {
        return IntStream.range(0, count)
                .mapToObj(i -> Server.builder("127.1." + (i / 250) + "." + (1 + i % 250), 9000)
                        .id("s" + i)
                        .build())
                .toList();
    }

    static LoadBalancer balancer(Strategy strategy, List<Server> servers) {
        LoadBalancer.Builder b = LoadBalancer.builder().strategy(strategy);
        servers.forEach(b::addServer);
        return b.build();
    }

    /** Picks, completes with 200 at once, and returns the chosen server's id. */
    static String pickId(LoadBalancer lb, PickContext context) {
        try (Lease lease = lb.pick(context)) {
            String id = lease.server().id();
            lease.complete(200);
            return id;
        }
    }
}
