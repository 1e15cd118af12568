package dev.fairload.lb.servlet.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.servlet.ProxyConfig;
import dev.fairload.lb.servlet.TestBackend;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The product brief's example bodies are contracts: each is sent exactly as written (docs/admin-api.md, DESIGN.md)
 * to a proxy with the default configuration, and must be accepted. Only the port of the backend is filled in.
 */
class AdminBriefExamplesTest {
    private AdminHarness h;
    private TestBackend backend;

    @AfterEach
    void stop() throws Exception {
        if (h != null) {
            h.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    private void start() throws Exception {
        h = new AdminHarness(LoadBalancer.builder().name("brief"), ProxyConfig.defaults(), b -> {});
    }

    @Test
    void briefBodies_asWritten_areAccepted() throws Exception {
        start();
        backend = new TestBackend("a");
        AdminHarness.Answer added = h.post(
                "/api/servers",
                "{\"host\":\"127.0.0.1\",\"port\":" + backend.port()
                        + ",\"weight\":10,\"healthCheckPath\":\"/health\",\"healthCheckInterval\":30}");
        assertThat(added.code()).as(added.text()).isEqualTo(201);
        assertThat(added.data()).containsEntry("status", "healthy").containsEntry("healthCheckInterval", 30);
        String id = (String) added.data().get("serverId");
        // Every timestamp in one precision: ISO-8601, UTC, milliseconds.
        String millis = "\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z";
        assertThat((String) added.data().get("addedAt")).matches(millis);
        assertThat((String) added.data().get("lastHealthCheck")).matches(millis);
        assertThat((String) h.get("/api/health").json().get("timestamp")).matches(millis);
        assertThat((String) h.get("/api/servers/" + id + "/health").data().get("lastHealthCheck"))
                .matches(millis);

        AdminHarness.Answer weight = h.put("/api/servers/" + id + "/weight", "{\"weight\":5}");
        assertThat(weight.code()).as(weight.text()).isEqualTo(200);
        assertThat(weight.data()).containsEntry("weight", 5);

        AdminHarness.Answer config = h.put(
                "/api/config", "{\"maxRetries\":2,\"healthCheckInterval\":10,\"algorithm\":\"least_connections\"}");
        assertThat(config.code()).as(config.text()).isEqualTo(200);
        assertThat(config.data())
                .containsEntry("maxRetries", 2)
                .containsEntry("healthCheckInterval", 10)
                .containsEntry("algorithm", "least_connections");

        AdminHarness.Answer algorithm = h.put("/api/algorithm", "{\"algorithm\":\"round_robin\"}");
        assertThat(algorithm.code()).as(algorithm.text()).isEqualTo(200);
        assertThat(algorithm.data()).containsEntry("algorithm", "round_robin");
    }

    /** A short interval is never refused for being short: the check timeout is capped by the interval. */
    @Test
    void oneSecondInterval_isAccepted_inPostServersAndPutConfig() throws Exception {
        start();
        backend = new TestBackend("a");
        AdminHarness.Answer added = h.post(
                "/api/servers",
                "{\"host\":\"127.0.0.1\",\"port\":" + backend.port()
                        + ",\"weight\":1,\"healthCheckPath\":\"/health\",\"healthCheckInterval\":1}");
        assertThat(added.code()).as(added.text()).isEqualTo(201);
        assertThat(added.data()).containsEntry("healthCheckInterval", 1);

        for (String body : new String[] {"{\"healthCheckInterval\":1}", "{\"healthCheckInterval\":5}"}) {
            AdminHarness.Answer config = h.put("/api/config", body);
            assertThat(config.code()).as(config.text()).isEqualTo(200);
        }
        assertThat(h.lb.activeHealthCheck().interval()).isEqualTo(Duration.ofSeconds(5));
        assertThat(h.lb.activeHealthCheck().timeout()).isEqualTo(Duration.ofSeconds(5));

        AdminHarness.Answer fast = h.put("/api/config", "{\"healthCheckFastInterval\":2}");
        assertThat(fast.code()).as(fast.text()).isEqualTo(200);
        assertThat(fast.data()).containsEntry("healthCheckFastInterval", 2);
        assertThat(h.lb.activeHealthCheck().fastInterval()).isEqualTo(Duration.ofSeconds(2));
    }

    /** A server's own fast interval: taken by POST /api/servers, shown with it, the configuration's otherwise. */
    @Test
    void perServerFastInterval_isTakenAndShown() throws Exception {
        start();
        backend = new TestBackend("a");
        AdminHarness.Answer own = h.post(
                "/api/servers",
                "{\"host\":\"127.0.0.1\",\"port\":" + backend.port() + ",\"healthCheckFastInterval\":3}");
        assertThat(own.code()).as(own.text()).isEqualTo(201);
        assertThat(own.data()).containsEntry("healthCheckFastInterval", 3);
        String id = (String) own.data().get("serverId");
        assertThat(h.lb.pool().get(id).orElseThrow().server().healthCheckFastInterval())
                .contains(Duration.ofSeconds(3));

        try (TestBackend other = new TestBackend("b")) {
            AdminHarness.Answer inherited =
                    h.post("/api/servers", "{\"host\":\"127.0.0.1\",\"port\":" + other.port() + "}");
            assertThat(inherited.code()).as(inherited.text()).isEqualTo(201);
            assertThat(inherited.data())
                    .containsEntry(
                            "healthCheckFastInterval", ProxyConfig.defaults().healthCheckFastInterval());
        }
    }

    /**
     * Proxy and backend started together, the backend a moment late: with the default configuration (30 s
     * interval, rise 2) the proxy serves it seconds after it comes up, not a minute later.
     */
    @Test
    void lateBackend_withDefaults_isServedSoonAfterItStarts() throws Exception {
        start();
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        AdminHarness.Answer added = h.post(
                "/api/servers",
                "{\"host\":\"127.0.0.1\",\"port\":" + port
                        + ",\"weight\":1,\"healthCheckPath\":\"/health\",\"healthCheckInterval\":30}");
        assertThat(added.code()).as(added.text()).isEqualTo(201);
        assertThat(added.data()).containsEntry("status", "unhealthy");
        assertThat(proxyStatus()).isEqualTo(503);

        backend = new TestBackend("late", port);
        // About 2 s with the defaults (two checks a second apart); the deadline allows for a loaded machine and
        // stays far below the 27-30 s that the regular interval would take.
        await().atMost(12, TimeUnit.SECONDS)
                .pollInterval(Duration.ofMillis(100))
                .until(() -> proxyStatus() == 200);
    }

    private int proxyStatus() throws Exception {
        try (Response r = h.client
                .newCall(new Request.Builder().url(h.proxyUrl("/hello")).build())
                .execute()) {
            return r.code();
        }
    }
}
