package dev.fairload.lb.examples.discovery;

import dev.fairload.lb.Discovery;
import dev.fairload.lb.Lease;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.PickContext;
import dev.fairload.lb.ServerView;
import dev.fairload.lb.Strategy;
import dev.fairload.lb.dns.DnsServerSource;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * DNS discovery: a balancer whose servers are the SRV records of {@code _http._tcp.api.internal}, kept in step
 * with DNS until it is closed. Run {@link #main} with a DNS server's {@code HOST:PORT} that serves that name;
 * {@code DnsDiscoveryExampleTest} runs it against a local dnsmasq in every build.
 */
public final class DnsDiscoveryExample {
    private DnsDiscoveryExample() {}

    public static void main(String[] args) throws Exception {
        run(args.length > 0 ? args[0] : "127.0.0.1:53", System.out);
    }

    /** Prints the discovered servers and returns the server picked for one client address, three times. */
    public static List<String> run(String resolver, PrintStream out) throws Exception {
        List<String> picked = new ArrayList<>();
        try (LoadBalancer lb = LoadBalancer.builder()
                        .name("api")
                        .strategy(Strategy.ipHash())
                        .build();
                DnsServerSource dns = DnsServerSource.forSrv("_http._tcp.api.internal")
                        .resolver(resolver) // default: the system's resolver
                        .minRefresh(Duration.ofSeconds(1)) // re-resolve at the TTL, at least 1 s apart ...
                        .maxRefresh(Duration.ofMinutes(5)) // ... and at most 5 min apart
                        .build();
                Discovery discovery = Discovery.attach(lb.pool(), dns)) {
            discovery.whenReady().get(10, TimeUnit.SECONDS); // the first answer is in the pool
            for (ServerView server : lb.pool().list()) {
                out.println(server.server().authority() + " weight "
                        + server.server().weight() + " from "
                        + server.server().source().orElse("api"));
            }
            PickContext client =
                    PickContext.builder().clientAddress("203.0.113.7").build();
            for (int i = 0; i < 3; i++) {
                try (Lease lease = lb.pick(client)) {
                    picked.add(lease.server().authority());
                    lease.complete(200); // after the request: its status, for health and metrics
                }
            }
        }
        return picked;
    }
}
