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
        await().atMost(30, TimeUnit.SECONDS).until(() -> lb.pool().healthyCount() == 2);

        // Counted in checks, not in time, so a loaded machine cannot fail it: out after `fall` failed checks (plus
        // the one in progress when the backend went down), back after `rise` passing ones.
        int atDown = a.requests.get();
        a.answer(503, "down");
        await().atMost(30, TimeUnit.SECONDS).until(() -> status(lb, "a") == ServerStatus.UNHEALTHY);
        assertThat(a.requests.get() - atDown).isBetween(2, 4);
        assertThat(lb.health("a").lastError()).isEqualTo("status 503");
        for (int i = 0; i < 20; i++) {
            try (Lease lease = lb.pick()) {
                assertThat(lease.server().id()).isEqualTo("b");
                lease.complete(200);
            }
        }

        int atUp = a.requests.get();
        a.answer(200, "ok");
        await().atMost(30, TimeUnit.SECONDS).until(() -> status(lb, "a") == ServerStatus.HEALTHY);
        assertThat(a.requests.get() - atUp).isBetween(1, 3);
    }

    @Test
    void hangingEndpoint_failsAfterTimeout_andNeverDelaysOtherServers() throws Exception {
        Backend hanging = backend().hang();
        Backend fine = backend();
        LoadBalancer lb = balancer(fast(), hanging.server("hang"), fine.server("fine"));
        await().atMost(30, TimeUnit.SECONDS).until(() -> status(lb, "hang") == ServerStatus.UNHEALTHY);
        HealthReport report = lb.health("hang");
        assertThat(report.lastError()).isEqualTo("timeout");
        assertThat(report.lastCheckDuration()).isGreaterThanOrEqualTo(TIMEOUT);
        await().atMost(30, TimeUnit.SECONDS).until(() -> status(lb, "fine") == ServerStatus.HEALTHY);
        // The healthy server keeps being checked every interval while the other hangs.
        int before = fine.requests.get();
        await().atMost(30, TimeUnit.SECONDS).until(() -> fine.requests.get() >= before + 5);
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
            lb.pool().firstCheck(id).get(30, TimeUnit.SECONDS);
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
        lb.pool().firstCheck("a").get(30, TimeUnit.SECONDS);
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
        lb.pool().firstCheck("closed").get(30, TimeUnit.SECONDS);
        lb.pool().firstCheck("body").get(30, TimeUnit.SECONDS);
        assertThat(lb.health("closed").lastError()).isEqualTo("connection refused");
        assertThat(lb.health("body").lastError()).isEqualTo("body mismatch");
        await().atMost(30, TimeUnit.SECONDS)
                .until(() -> events.stream()
                        .filter(e -> e instanceof LbEvent.StatusChanged)
                        .map(e -> ((LbEvent.StatusChanged) e).reason())
                        .toList()
                        .containsAll(List.of("connection refused", "body mismatch")));

        wrongBody.answer(200, "ready");
        await().atMost(30, TimeUnit.SECONDS).until(() -> status(lb, "body") == ServerStatus.HEALTHY);
    }

    @Test
    void expectedStatus_isConfigurable() throws Exception {
        Backend teapot = backend().answer(418, "short and stout");
        LoadBalancer lb = balancer(fast().toBuilder().expectedStatus(418, 418).build(), teapot.server("t"));
        lb.pool().firstCheck("t").get(30, TimeUnit.SECONDS);
        assertThat(status(lb, "t")).isEqualTo(ServerStatus.HEALTHY);
    }

    @Test
    void perServerPathOverridesDefault() throws Exception {
        Backend a = backend();
        LoadBalancer lb = balancer(fast());
        lb.pool().add(a.serverBuilder("a").healthCheckPath("/ready").build());
        lb.pool().firstCheck("a").get(30, TimeUnit.SECONDS);
        assertThat(status(lb, "a")).isEqualTo(ServerStatus.HEALTHY);
    }

    @Test
    void turningChecksOff_makesServersHealthyAgain() throws Exception {
        Backend a = backend().answer(500, "no");
        LoadBalancer lb = balancer(fast(), a.server("a"));
        await().atMost(30, TimeUnit.SECONDS).until(() -> status(lb, "a") == ServerStatus.UNHEALTHY);
        lb.activeHealthCheck(ActiveHealthCheck.disabled());
        assertThat(status(lb, "a")).isEqualTo(ServerStatus.HEALTHY);
        int requests = a.requests.get();
        lb.activeHealthCheck(fast());
        await().atMost(30, TimeUnit.SECONDS).until(() -> status(lb, "a") == ServerStatus.UNHEALTHY);
        assertThat(a.requests.get()).isGreaterThan(requests);
    }

    @Test
    void badSettings_areRejectedNamingTheField() throws Exception {
        assertThatThrownBy(() -> ActiveHealthCheck.builder().interval(Duration.ZERO))
                .hasMessageStartingWith("healthCheckInterval: PT0S");
        assertThatThrownBy(() -> ActiveHealthCheck.builder().timeout(Duration.ofSeconds(-1)))
                .hasMessageStartingWith("healthCheckTimeout");
        assertThatThrownBy(() -> ActiveHealthCheck.builder().fastInterval(Duration.ZERO))
                .hasMessage("healthCheckFastInterval: PT0S (expected: > 0)");
        assertThatThrownBy(() -> Server.builder("127.0.0.1", 80).healthCheckFastInterval(Duration.ofSeconds(-1)))
                .hasMessage("healthCheckFastInterval: PT-1S (expected: > 0)");
        assertThatThrownBy(() -> ActiveHealthCheck.builder().rise(0)).hasMessage("rise: 0 (expected: >= 1)");
        assertThatThrownBy(() -> ActiveHealthCheck.builder().fall(0)).hasMessage("fall: 0 (expected: >= 1)");
        assertThatThrownBy(() -> ActiveHealthCheck.builder().path("health")).hasMessageStartingWith("healthCheckPath");
        assertThatThrownBy(() -> OutlierDetection.builder().maxEjectionPercent(101))
                .hasMessage("maxEjectionPercent: 101 (expected: 0-100)");
        assertThatThrownBy(() -> OutlierDetection.builder().maxEjectionPercent(-1))
                .hasMessage("maxEjectionPercent: -1 (expected: 0-100)");
    }

    /** Any positive interval works with any timeout: the timeout is capped by the interval, as HAProxy does. */
    @Test
    void shortIntervals_areAccepted_andCapTheTimeout() throws Exception {
        ActiveHealthCheck oneSecond =
                ActiveHealthCheck.builder().interval(Duration.ofSeconds(1)).build();
        assertThat(oneSecond.timeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(oneSecond.effectiveTimeout(Duration.ofSeconds(1))).isEqualTo(Duration.ofSeconds(1));
        assertThat(oneSecond.effectiveTimeout(Duration.ofSeconds(30))).isEqualTo(Duration.ofSeconds(5));

        Backend a = backend();
        LoadBalancer lb = balancer(ActiveHealthCheck.builder()
                .interval(Duration.ofSeconds(30))
                .timeout(Duration.ofSeconds(20))
                .build());
        lb.activeHealthCheck(lb.activeHealthCheck().toBuilder()
                .timeout(Duration.ofSeconds(25))
                .build());
        lb.pool()
                .add(a.serverBuilder("a")
                        .healthCheckInterval(Duration.ofSeconds(1))
                        .build());
        lb.pool().firstCheck("a").get(30, TimeUnit.SECONDS);
        assertThat(status(lb, "a")).isEqualTo(ServerStatus.HEALTHY);

        // A hanging server on a 300 ms interval fails its checks at 300 ms, not at the 25 s timeout.
        Backend hanging = backend().hang();
        lb.pool()
                .add(hanging.serverBuilder("hang")
                        .healthCheckInterval(Duration.ofMillis(300))
                        .build());
        lb.pool().firstCheck("hang").get(10, TimeUnit.SECONDS);
        assertThat(status(lb, "hang")).isEqualTo(ServerStatus.UNHEALTHY);
        assertThat(lb.health("hang").lastError()).isEqualTo("timeout");
    }

    /**
     * With the default settings (30 s interval, rise 2), a backend that starts after the balancer is in rotation
     * a couple of seconds after it first answers: a server that is down is checked every second.
     */
    @Test
    void lateBackend_withDefaults_isServedSecondsAfterItStarts() throws Exception {
        int port = freePort();
        ActiveHealthCheck defaults = ActiveHealthCheck.builder().build();
        assertThat(defaults.interval()).isEqualTo(Duration.ofSeconds(30));
        assertThat(defaults.fastInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(defaults.rise()).isEqualTo(2);
        LoadBalancer lb =
                balancer(defaults, Server.builder("127.0.0.1", port).id("late").build());
        lb.pool().firstCheck("late").get(10, TimeUnit.SECONDS);
        assertThat(status(lb, "late")).isEqualTo(ServerStatus.UNHEALTHY);
        assertThat(lb.health("late").lastError()).isEqualTo("connection refused");

        Backend late = new Backend(port);
        closeables.add(late);
        // The goal is about 2 s (two checks a second apart); the deadline leaves room for a loaded machine and
        // stays far below the 27-30 s a check at the regular interval would take.
        await().atMost(12, TimeUnit.SECONDS).until(() -> status(lb, "late") == ServerStatus.HEALTHY);
        try (Lease lease = lb.pick()) {
            assertThat(lease.server().id()).isEqualTo("late");
            lease.complete(200);
        }
    }

    /** A server's own fast interval overrides the balancer's. */
    @Test
    void perServerFastInterval_overridesTheBalancers() throws Exception {
        int port = freePort();
        ActiveHealthCheck slow = ActiveHealthCheck.builder()
                .interval(Duration.ofSeconds(60))
                .fastInterval(Duration.ofSeconds(60))
                .build();
        LoadBalancer lb = balancer(
                slow,
                Server.builder("127.0.0.1", port)
                        .id("late")
                        .healthCheckFastInterval(Duration.ofMillis(200))
                        .build());
        lb.pool().firstCheck("late").get(10, TimeUnit.SECONDS);
        assertThat(status(lb, "late")).isEqualTo(ServerStatus.UNHEALTHY);
        Backend late = new Backend(port);
        closeables.add(late);
        await().atMost(12, TimeUnit.SECONDS).until(() -> status(lb, "late") == ServerStatus.HEALTHY);
    }
}
