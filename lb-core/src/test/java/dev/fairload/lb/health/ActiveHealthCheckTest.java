package dev.fairload.lb.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fairload.lb.Lease;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.ServerStatus;
import dev.fairload.lb.Strategy;
import dev.fairload.lb.event.LbEvent;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ActiveHealthCheckTest {
    private static final Duration INTERVAL = Duration.ofMillis(200);
    private static final Duration TIMEOUT = Duration.ofMillis(100);
    private final List<AutoCloseable> closeables = new CopyOnWriteArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    private Backend backend() throws Exception {
        Backend b = new Backend();
        closeables.add(b);
        return b;
    }

    private LoadBalancer balancer(ActiveHealthCheck check, Server... servers) {
        LoadBalancer.Builder b = LoadBalancer.builder()
                .strategy(Strategy.roundRobin())
                .activeHealthCheck(check)
                .outlierDetection(OutlierDetection.disabled());
        for (Server s : servers) {
            b.addServer(s);
        }
        LoadBalancer lb = b.build();
        closeables.add(0, lb);
        return lb;
    }

    private static ActiveHealthCheck fast() {
        return ActiveHealthCheck.builder()
                .interval(INTERVAL)
                .timeout(TIMEOUT)
                .rise(2)
                .fall(3)
                .jitter(0)
                .build();
    }

    private static ServerStatus status(LoadBalancer lb, String id) {
        return lb.pool().get(id).orElseThrow().status();
    }

    @Test
    void downBackend_outWithinFallIntervals_backWithinRiseIntervals() throws Exception {
        Backend a = backend();
        Backend b = backend();
        LoadBalancer lb = balancer(fast(), a.server("a"), b.server("b"));
        await().atMost(5, TimeUnit.SECONDS).until(() -> lb.pool().healthyCount() == 2);

        a.answer(503, "down");
        long downAt = System.nanoTime();
        await().atMost(5, TimeUnit.SECONDS).until(() -> status(lb, "a") == ServerStatus.UNHEALTHY);
        Duration tookOut = Duration.ofNanos(System.nanoTime() - downAt);
        // fall x interval + timeout, plus one interval for the check in progress when the backend went down.
        assertThat(tookOut)
                .isLessThanOrEqualTo(INTERVAL.multipliedBy(4).plus(TIMEOUT).plusMillis(300));
        assertThat(lb.health("a").lastError()).isEqualTo("status 503");
        for (int i = 0; i < 20; i++) {
            try (Lease lease = lb.pick()) {
                assertThat(lease.server().id()).isEqualTo("b");
                lease.complete(200);
            }
        }

        a.answer(200, "ok");
        long upAt = System.nanoTime();
        await().atMost(5, TimeUnit.SECONDS).until(() -> status(lb, "a") == ServerStatus.HEALTHY);
        Duration tookIn = Duration.ofNanos(System.nanoTime() - upAt);
        assertThat(tookIn).isLessThanOrEqualTo(INTERVAL.multipliedBy(3).plusMillis(300));
    }

    @Test
    void hangingEndpoint_failsAfterTimeout_andNeverDelaysOtherServers() throws Exception {
        Backend hanging = backend().hang();
        Backend fine = backend();
        LoadBalancer lb = balancer(fast(), hanging.server("hang"), fine.server("fine"));
        await().atMost(5, TimeUnit.SECONDS).until(() -> status(lb, "hang") == ServerStatus.UNHEALTHY);
        HealthReport report = lb.health("hang");
        assertThat(report.lastError()).isEqualTo("timeout");
        assertThat(report.lastCheckDuration()).isGreaterThanOrEqualTo(TIMEOUT);
        await().atMost(5, TimeUnit.SECONDS).until(() -> status(lb, "fine") == ServerStatus.HEALTHY);
        // The healthy server keeps being checked every interval while the other hangs.
        int before = fine.requests.get();
        await().atMost(3, TimeUnit.SECONDS).until(() -> fine.requests.get() >= before + 5);
    }

    /**
     * The initial pool gets its first verdicts within about a second, not over its 30 s interval: until then its
     * servers are unknown and not picked, and a dead one must be found before it gets traffic.
     */
    @Test
    void initialPool_firstVerdictsWithinASecond_evenAtA30sInterval() throws Exception {
        Backend up = backend();
        Backend alsoUp = backend();
        Server down = Server.builder("127.0.0.1", freePort()).id("down").build();
        ActiveHealthCheck slow = fast().toBuilder()
                .interval(Duration.ofSeconds(30))
                .timeout(Duration.ofSeconds(2))
                .rise(1)
                .fall(1)
                .build();
        LoadBalancer lb = balancer(slow, up.server("a"), alsoUp.server("b"), down);
        for (String id : List.of("a", "b", "down")) {
            lb.pool().firstCheck(id).get(5, TimeUnit.SECONDS);
        }
        assertThat(status(lb, "a")).isEqualTo(ServerStatus.HEALTHY);
        assertThat(status(lb, "b")).isEqualTo(ServerStatus.HEALTHY);
        assertThat(status(lb, "down")).isEqualTo(ServerStatus.UNHEALTHY);
    }

    private static int freePort() throws java.io.IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Test
    void newServer_isUnknownUntilItsFirstCheck() throws Exception {
        Backend a = backend();
        ActiveHealthCheck slow = fast().toBuilder()
                .interval(Duration.ofSeconds(30))
                .timeout(Duration.ofSeconds(2))
                .build();
        LoadBalancer lb = balancer(slow);
        var added = lb.pool().add(a.server("a"));
        assertThat(added.status()).isIn(ServerStatus.UNKNOWN, ServerStatus.HEALTHY);
        lb.pool().firstCheck("a").get(5, TimeUnit.SECONDS);
        assertThat(status(lb, "a")).isEqualTo(ServerStatus.HEALTHY);
        assertThat(lb.health("a").lastHealthCheck()).isNotNull();
        assertThat(a.requests.get()).isEqualTo(1);
    }

    @Test
    void refusedConnection_andBodyMismatch_areReasons() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        Backend wrongBody = backend().answer(200, "starting");
        ActiveHealthCheck check = fast().toBuilder().expectedBody("ready").build();
        LoadBalancer lb = balancer(check);
        List<LbEvent> events = new CopyOnWriteArrayList<>();
        lb.addListener(events::add);
        lb.pool().add(Server.builder("127.0.0.1", closedPort).id("closed").build());
        lb.pool().add(wrongBody.server("body"));
        lb.pool().firstCheck("closed").get(5, TimeUnit.SECONDS);
        lb.pool().firstCheck("body").get(5, TimeUnit.SECONDS);
        assertThat(lb.health("closed").lastError()).isEqualTo("connection refused");
        assertThat(lb.health("body").lastError()).isEqualTo("body mismatch");
        await().atMost(5, TimeUnit.SECONDS)
                .until(() -> events.stream()
                        .filter(e -> e instanceof LbEvent.StatusChanged)
                        .map(e -> ((LbEvent.StatusChanged) e).reason())
                        .toList()
                        .containsAll(List.of("connection refused", "body mismatch")));

        wrongBody.answer(200, "ready");
        await().atMost(5, TimeUnit.SECONDS).until(() -> status(lb, "body") == ServerStatus.HEALTHY);
    }

    @Test
    void expectedStatus_isConfigurable() throws Exception {
        Backend teapot = backend().answer(418, "short and stout");
        LoadBalancer lb = balancer(fast().toBuilder().expectedStatus(418, 418).build(), teapot.server("t"));
        lb.pool().firstCheck("t").get(5, TimeUnit.SECONDS);
        assertThat(status(lb, "t")).isEqualTo(ServerStatus.HEALTHY);
    }

    @Test
    void perServerPathOverridesDefault() throws Exception {
        Backend a = backend();
        LoadBalancer lb = balancer(fast());
        lb.pool().add(a.serverBuilder("a").healthCheckPath("/ready").build());
        lb.pool().firstCheck("a").get(5, TimeUnit.SECONDS);
        assertThat(status(lb, "a")).isEqualTo(ServerStatus.HEALTHY);
    }

    @Test
    void turningChecksOff_makesServersHealthyAgain() throws Exception {
        Backend a = backend().answer(500, "no");
        LoadBalancer lb = balancer(fast(), a.server("a"));
        await().atMost(5, TimeUnit.SECONDS).until(() -> status(lb, "a") == ServerStatus.UNHEALTHY);
        lb.activeHealthCheck(ActiveHealthCheck.disabled());
        assertThat(status(lb, "a")).isEqualTo(ServerStatus.HEALTHY);
        int requests = a.requests.get();
        lb.activeHealthCheck(fast());
        await().atMost(5, TimeUnit.SECONDS).until(() -> status(lb, "a") == ServerStatus.UNHEALTHY);
        assertThat(a.requests.get()).isGreaterThan(requests);
    }

    @Test
    void badSettings_areRejectedNamingTheField() throws Exception {
        assertThatThrownBy(() -> ActiveHealthCheck.builder().interval(Duration.ZERO))
                .hasMessageStartingWith("healthCheckInterval: PT0S");
        assertThatThrownBy(() -> ActiveHealthCheck.builder().timeout(Duration.ofSeconds(-1)))
                .hasMessageStartingWith("healthCheckTimeout");
        assertThatThrownBy(() -> ActiveHealthCheck.builder()
                        .interval(Duration.ofSeconds(5))
                        .timeout(Duration.ofSeconds(5))
                        .build())
                .hasMessageContaining("healthCheckTimeout: PT5S (expected: shorter than healthCheckInterval PT5S)");
        assertThatThrownBy(() -> ActiveHealthCheck.builder().rise(0)).hasMessage("rise: 0 (expected: >= 1)");
        assertThatThrownBy(() -> ActiveHealthCheck.builder().fall(0)).hasMessage("fall: 0 (expected: >= 1)");
        assertThatThrownBy(() -> ActiveHealthCheck.builder().path("health")).hasMessageStartingWith("healthCheckPath");
        assertThatThrownBy(() -> OutlierDetection.builder().maxEjectionPercent(101))
                .hasMessage("maxEjectionPercent: 101 (expected: 0-100)");
        assertThatThrownBy(() -> OutlierDetection.builder().maxEjectionPercent(-1))
                .hasMessage("maxEjectionPercent: -1 (expected: 0-100)");

        Backend a = backend();
        LoadBalancer lb = balancer(fast().toBuilder()
                .interval(Duration.ofSeconds(30))
                .timeout(Duration.ofSeconds(2))
                .build());
        lb.pool()
                .add(a.serverBuilder("a")
                        .healthCheckInterval(Duration.ofSeconds(10))
                        .build());
        ActiveHealthCheck before = lb.activeHealthCheck();
        ActiveHealthCheck longTimeout =
                before.toBuilder().timeout(Duration.ofSeconds(20)).build();
        assertThatThrownBy(() -> lb.activeHealthCheck(longTimeout))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("healthCheckInterval: 10 s");
        assertThat(lb.activeHealthCheck()).isSameAs(before);
        assertThatThrownBy(() -> lb.pool()
                        .add(a.serverBuilder("b")
                                .healthCheckInterval(Duration.ofSeconds(1))
                                .build()))
                .hasMessageStartingWith("healthCheckInterval: 1 s");
        assertThat(lb.pool().size()).isEqualTo(1);
    }
}
