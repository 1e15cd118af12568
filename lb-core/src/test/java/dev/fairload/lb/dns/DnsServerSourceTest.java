package dev.fairload.lb.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import dev.fairload.lb.Discovery;
import dev.fairload.lb.Lease;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.ServerView;
import dev.fairload.lb.Strategy;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Against a real DNS server (dnsmasq) on loopback whose records the tests change. TTLs are 1 s. */
class DnsServerSourceTest {
    private static final Duration WITHIN_TTL = Duration.ofSeconds(10); // TTL 1 s, plus a loaded machine

    @TempDir
    Path directory;

    private static List<String> authorities(LoadBalancer lb) {
        return lb.pool().list().stream()
                .map(v -> v.server().authority())
                .sorted()
                .toList();
    }

    @Test
    void addresses_followTheRecordsAsTheyChange() throws Exception {
        try (Dnsmasq dns = new Dnsmasq(directory)) {
            dns.hosts("127.0.0.2 api.test", "127.0.0.3 api.test");
            dns.start();
            DnsServerSource source = DnsServerSource.forAddresses("api.test", 8080)
                    .resolver(dns.address())
                    .minRefresh(Duration.ofMillis(100))
                    .maxRefresh(Duration.ofSeconds(2))
                    .zone("zone-a")
                    .build();
            assertThat(source.name()).isEqualTo("dns://api.test:8080");
            try (LoadBalancer lb = LoadBalancer.builder().build();
                    Discovery discovery = Discovery.attach(lb.pool(), source)) {
                discovery.whenReady().get(10, TimeUnit.SECONDS);
                assertThat(authorities(lb)).containsExactly("127.0.0.2:8080", "127.0.0.3:8080");
                Server first = lb.pool().list().get(0).server();
                assertThat(first.source()).contains("dns://api.test:8080");
                assertThat(first.zone()).contains("zone-a");

                dns.hosts("127.0.0.3 api.test", "127.0.0.4 api.test", "127.0.0.5 api.test");
                await().atMost(WITHIN_TTL)
                        .untilAsserted(() -> assertThat(authorities(lb))
                                .containsExactly("127.0.0.3:8080", "127.0.0.4:8080", "127.0.0.5:8080"));
            }
        }
    }

    @Test
    void srv_targetsPortsWeightsAndLowestPriority() throws Exception {
        try (Dnsmasq dns = new Dnsmasq(directory)) {
            dns.hosts("127.0.0.6 a.test", "127.0.0.7 b.test", "127.0.0.8 backup.test");
            dns.srv(
                    "_http._tcp.svc.test,a.test,8001,0,65535",
                    "_http._tcp.svc.test,b.test,8002,0,6553",
                    "_http._tcp.svc.test,backup.test,8003,1,100");
            dns.start();
            try (DnsServerSource source = DnsServerSource.forSrv("_http._tcp.svc.test")
                            .resolver(dns.address())
                            .build();
                    LoadBalancer lb = LoadBalancer.builder().build();
                    Discovery discovery = Discovery.attach(lb.pool(), source)) {
                discovery.whenReady().get(10, TimeUnit.SECONDS);
                assertThat(source.name()).isEqualTo("dns+srv://_http._tcp.svc.test");
                Map<String, Integer> weights = new java.util.TreeMap<>();
                lb.pool()
                        .list()
                        .forEach(v ->
                                weights.put(v.server().authority(), v.server().weight()));
                assertThat(weights)
                        .containsExactly(Map.entry("127.0.0.6:8001", 1000), Map.entry("127.0.0.7:8002", 100));
            }
        }
    }

    @Test
    void resolverDown_keepsTheLastGoodSetAndRecovers() throws Exception {
        try (Dnsmasq dns = new Dnsmasq(directory)) {
            dns.hosts("127.0.0.2 api.test");
            dns.start();
            try (DnsServerSource source = DnsServerSource.forAddresses("api.test", 8080)
                            .resolver(dns.address())
                            .minRefresh(Duration.ofMillis(50))
                            .maxRefresh(Duration.ofMillis(200))
                            .queryTimeout(Duration.ofMillis(300))
                            .build();
                    LoadBalancer lb = LoadBalancer.builder().build();
                    Discovery discovery = Discovery.attach(lb.pool(), source)) {
                discovery.whenReady().get(10, TimeUnit.SECONDS);
                dns.stop();
                await().atMost(Duration.ofSeconds(20)).until(() -> source.failuresInARow() >= 3);
                assertThat(authorities(lb)).containsExactly("127.0.0.2:8080");

                dns.hosts("127.0.0.2 api.test", "127.0.0.9 api.test");
                dns.start();
                await().atMost(WITHIN_TTL)
                        .untilAsserted(
                                () -> assertThat(authorities(lb)).containsExactly("127.0.0.2:8080", "127.0.0.9:8080"));
                assertThat(source.failuresInARow()).isZero();
            }
        }
    }

    @Test
    void resolverThatNeverAnswered_leavesThePoolEmptyAndKeepsTrying() throws Exception {
        try (Dnsmasq dns = new Dnsmasq(directory)) { // never started: nothing answers on its port
            try (DnsServerSource source = DnsServerSource.forAddresses("api.test", 8080)
                            .resolver(dns.address())
                            .minRefresh(Duration.ofMillis(50))
                            .maxRefresh(Duration.ofMillis(200))
                            .queryTimeout(Duration.ofMillis(300))
                            .build();
                    LoadBalancer lb = LoadBalancer.builder().build();
                    Discovery discovery = Discovery.attach(lb.pool(), source)) {
                await().atMost(Duration.ofSeconds(20)).until(() -> source.failuresInARow() >= 2);
                assertThat(discovery.whenReady()).isNotDone();
                try (Lease lease = lb.pick()) {
                    assertThat(lease.isAcquired()).isFalse();
                }
                dns.hosts("127.0.0.2 api.test");
                dns.start();
                discovery.whenReady().get(20, TimeUnit.SECONDS);
                assertThat(authorities(lb)).containsExactly("127.0.0.2:8080");
            }
        }
    }

    @Test
    void refreshDelay_isTheTtlClampedAndBackoffDoublesUpToTheMaximum() {
        Duration min = Duration.ofSeconds(1);
        Duration max = Duration.ofSeconds(30);
        assertThat(DnsServerSource.refreshNanos(0, min, max)).isEqualTo(min.toNanos());
        assertThat(DnsServerSource.refreshNanos(7, min, max)).isEqualTo(TimeUnit.SECONDS.toNanos(7));
        assertThat(DnsServerSource.refreshNanos(86_400, min, max)).isEqualTo(max.toNanos());
        assertThat(List.of(1, 2, 3, 5, 6, 40).stream()
                        .map(f -> DnsServerSource.backoffNanos(f, min, max) / 1_000_000_000)
                        .toList())
                .containsExactly(1L, 2L, 4L, 16L, 30L, 30L);
    }

    @Test
    void badInput_namesTheField() {
        assertThatThrownBy(() -> DnsServerSource.forAddresses("bad name", 80))
                .hasMessage("name: 'bad name' (expected: a DNS name such as api.example)");
        assertThatThrownBy(() -> DnsServerSource.forSrv("a..b"))
                .hasMessage("name: 'a..b' (expected: a DNS name such as api.example)");
        assertThatThrownBy(() -> DnsServerSource.forAddresses("api.test", 0)).hasMessage("port: 0 (expected: 1-65535)");
        assertThatThrownBy(() -> DnsServerSource.forSrv("x.test").resolver("127.0.0.1:99999"))
                .hasMessage("resolver: '127.0.0.1:99999' (expected: HOST:PORT, such as 127.0.0.1:53)");
        assertThatThrownBy(() -> DnsServerSource.forSrv("x.test").resolver("1.2.3.4:53:1"))
                .hasMessageStartingWith("resolver: ");
        assertThatThrownBy(() -> DnsServerSource.forSrv("x.test")
                        .minRefresh(Duration.ofMinutes(10))
                        .build())
                .hasMessageStartingWith("minRefresh: PT10M (expected: at most maxRefresh");
        assertThat(DnsServerSource.Builder.parseResolver("[::1]:5353")).isEqualTo(new InetSocketAddress("::1", 5353));
        assertThat(DnsServerSource.Builder.parseResolver("127.0.0.1").getPort()).isEqualTo(53);
    }

    /** A backend on 127.0.0.1 and a port of its own, answering 200 and counting requests. */
    private static HttpServer backend(LongAdder served) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            served.increment();
            exchange.sendResponseHeaders(200, 2);
            exchange.getResponseBody().write("ok".getBytes());
            exchange.close();
        });
        server.start();
        return server;
    }

    private static String srv(HttpServer backend) {
        return "_http._tcp.scale.test,be.test," + backend.getAddress().getPort() + ",0,100";
    }

    @Test
    void scaleUpAndDownThroughDns_whileTrafficRuns_noRequestFails() throws Exception {
        List<HttpServer> backends = new ArrayList<>();
        Map<Integer, LongAdder> served = new ConcurrentHashMap<>();
        for (int i = 0; i < 4; i++) {
            LongAdder counter = new LongAdder();
            HttpServer backend = backend(counter);
            served.put(backend.getAddress().getPort(), counter);
            backends.add(backend);
        }
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong completed = new AtomicLong();
        List<String> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        Thread traffic = null;
        try (Dnsmasq dns = new Dnsmasq(directory)) {
            dns.hosts("127.0.0.1 be.test");
            dns.srv(srv(backends.get(0)), srv(backends.get(1)));
            dns.start();
            try (DnsServerSource source = DnsServerSource.forSrv("_http._tcp.scale.test")
                            .resolver(dns.address())
                            .minRefresh(Duration.ofMillis(200))
                            .maxRefresh(Duration.ofSeconds(1))
                            .build();
                    LoadBalancer lb = LoadBalancer.builder()
                            .strategy(Strategy.roundRobin())
                            .build();
                    Discovery discovery = Discovery.attach(lb.pool(), source)) {
                discovery.whenReady().get(10, TimeUnit.SECONDS);
                traffic = new Thread(
                        () -> {
                            // Bounded: stops when the test ends or after 200,000 requests.
                            while (running.get() && completed.get() < 200_000) {
                                try (Lease lease = lb.pick()) {
                                    if (!lease.isAcquired()) {
                                        failures.add("no server: " + lease.unavailableReason());
                                        continue;
                                    }
                                    int status = get(lease.server());
                                    lease.complete(status);
                                    if (status != 200) {
                                        failures.add(lease.server() + " answered " + status);
                                    }
                                } catch (IOException e) {
                                    failures.add(e.toString());
                                }
                                completed.incrementAndGet();
                            }
                        },
                        "dns-scale-traffic");
                traffic.start();

                // Up: 2 -> 4. The new servers are in the pool within the TTL and take requests.
                dns.srv(srv(backends.get(0)), srv(backends.get(1)), srv(backends.get(2)), srv(backends.get(3)));
                await().atMost(WITHIN_TTL).until(() -> lb.pool().size() == 4);
                for (int i = 2; i < 4; i++) {
                    LongAdder counter = served.get(backends.get(i).getAddress().getPort());
                    await().atMost(WITHIN_TTL).until(() -> counter.sum() > 10);
                }

                // Down: 4 -> 2. Once the pool has dropped them and the traffic has moved on, they stop.
                dns.srv(srv(backends.get(2)), srv(backends.get(3)));
                await().atMost(WITHIN_TTL)
                        .until(() -> lb.pool().size() == 2
                                && lb.pool().list().stream()
                                        .map(ServerView::server)
                                        .allMatch(s -> s.port()
                                                        == backends.get(2)
                                                                .getAddress()
                                                                .getPort()
                                                || s.port()
                                                        == backends.get(3)
                                                                .getAddress()
                                                                .getPort()));
                long seen = completed.get();
                await().atMost(WITHIN_TTL).until(() -> completed.get() > seen + 2);
                backends.get(0).stop(0);
                backends.get(1).stop(0);
                long after = completed.get();
                await().atMost(WITHIN_TTL).until(() -> completed.get() > after + 100);
            } finally {
                running.set(false);
                if (traffic != null) {
                    traffic.join(TimeUnit.SECONDS.toMillis(30));
                }
            }
        } finally {
            backends.forEach(b -> b.stop(0));
        }
        assertThat(failures).isEmpty();
        assertThat(completed.get()).isGreaterThan(100);
    }

    private static int get(Server server) throws IOException {
        HttpURLConnection connection = (HttpURLConnection)
                URI.create("http://" + server.authority() + "/").toURL().openConnection();
        connection.setConnectTimeout(5_000);
        connection.setReadTimeout(5_000);
        try (InputStream body = connection.getInputStream()) {
            body.readAllBytes();
            return connection.getResponseCode();
        }
    }
}
