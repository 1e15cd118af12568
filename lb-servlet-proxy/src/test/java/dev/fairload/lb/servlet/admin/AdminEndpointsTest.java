package dev.fairload.lb.servlet.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fairload.lb.ServerStatus;
import dev.fairload.lb.servlet.TestBackend;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every admin endpoint through real HTTP against a running proxy with real backends. */
class AdminEndpointsTest {
    private AdminHarness h;
    private TestBackend a;
    private TestBackend b;

    @BeforeEach
    void start() throws Exception {
        h = AdminHarness.started();
        a = new TestBackend("a");
        b = new TestBackend("b");
    }

    @AfterEach
    void stop() throws Exception {
        h.close();
        a.close();
        b.close();
    }

    private String add(TestBackend backend, int weight) throws Exception {
        AdminHarness.Answer r = h.post(
                "/api/servers", "{\"host\":\"127.0.0.1\",\"port\":" + backend.port() + ",\"weight\":" + weight + "}");
        assertThat(r.code()).as(r.text()).isEqualTo(201);
        return (String) r.data().get("serverId");
    }

    @Test
    void postServers_briefExample_answers201AfterFirstCheck() throws Exception {
        Instant before = Instant.now();
        AdminHarness.Answer r = h.post(
                "/api/servers",
                "{\"host\":\"127.0.0.1\",\"port\":" + a.port()
                        + ",\"weight\":10,\"healthCheckPath\":\"/health\",\"healthCheckInterval\":30}");

        assertThat(r.code()).isEqualTo(201);
        assertThat(r.json()).containsEntry("success", true);
        Map<String, Object> s = r.data();
        assertThat(s).containsKeys("serverId", "id", "host", "port", "weight", "status", "addedAt");
        assertThat(s.get("serverId")).isEqualTo(s.get("id"));
        assertThat(s).containsEntry("host", "127.0.0.1").containsEntry("port", a.port());
        assertThat(s).containsEntry("weight", 10).containsEntry("healthCheckPath", "/health");
        assertThat(s).containsEntry("healthCheckInterval", 30);
        // The first health check has run: the status is decided, not unknown.
        assertThat(s).containsEntry("status", "healthy");
        assertThat(s.get("lastHealthCheck")).isNotNull();
        assertThat(Instant.parse((String) s.get("addedAt"))).isAfterOrEqualTo(before.minusSeconds(1));
        assertThat(r.headers().get("Location")).isEqualTo("/api/servers/" + s.get("serverId"));
        // At once: the proxy sends traffic there.
        assertThat(h.proxied("/x")).isEqualTo(200);
        assertThat(a.seen).anyMatch(seen -> seen.target().equals("/x"));
    }

    @Test
    void postServers_unreachableServer_isUnhealthyAfterFirstCheck() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        AdminHarness.Answer r = h.post("/api/servers", "{\"host\":\"127.0.0.1\",\"port\":" + closedPort + "}");
        assertThat(r.code()).isEqualTo(201);
        assertThat(r.data()).containsEntry("status", "unhealthy").containsEntry("weight", 1);
    }

    @Test
    void getServers_listsEveryServer() throws Exception {
        String ida = add(a, 1);
        String idb = add(b, 2);
        AdminHarness.Answer r = h.get("/api/servers");
        assertThat(r.code()).isEqualTo(200);
        assertThat(r.dataList()).extracting(m -> m.get("serverId")).containsExactly(ida, idb);
        assertThat(r.dataList().get(1))
                .containsKeys(
                        "activeConnections",
                        "totalRequests",
                        "responseTime",
                        "lastHealthCheck",
                        "healthCheckPath",
                        "healthCheckInterval",
                        "addedAt",
                        "lastSeen")
                .containsEntry("weight", 2);
        assertThat(h.get("/api/servers/" + ida).data()).containsEntry("port", a.port());
    }

    @Test
    void deleteServer_removesItAtOnce() throws Exception {
        String ida = add(a, 1);
        add(b, 1);
        AdminHarness.Answer r = h.delete("/api/servers/" + ida);
        assertThat(r.code()).isEqualTo(200);
        assertThat(r.json()).containsEntry("success", true).containsEntry("message", "Server removed successfully");
        assertThat(h.lb.pool().get(ida)).isEmpty();
        int hitsBefore = a.hits.get();
        for (int i = 0; i < 6; i++) {
            assertThat(h.proxied("/y")).isEqualTo(200);
        }
        assertThat(a.hits.get()).isEqualTo(hitsBefore);
        assertThat(h.delete("/api/servers/" + ida).code()).isEqualTo(404);
    }

    @Test
    void putWeight_changesTheWeightLive() throws Exception {
        String ida = add(a, 1);
        AdminHarness.Answer r = h.put("/api/servers/" + ida + "/weight", "{\"weight\":250}");
        assertThat(r.code()).isEqualTo(200);
        assertThat(r.data()).containsEntry("weight", 250).containsEntry("serverId", ida);
        assertThat(h.lb.pool().get(ida).orElseThrow().server().weight()).isEqualTo(250);
    }

    @Test
    void getServerHealth_reportsChecks() throws Exception {
        String ida = add(a, 1);
        AdminHarness.Answer r = h.get("/api/servers/" + ida + "/health");
        assertThat(r.code()).isEqualTo(200);
        assertThat(r.data())
                .containsEntry("serverId", ida)
                .containsEntry("status", "healthy")
                .containsEntry("activeChecked", true)
                .containsEntry("consecutiveFailures", 0)
                .containsKeys("lastHealthCheck", "consecutiveSuccesses", "lastError", "lastCheckDuration");
        assertThat((Integer) r.data().get("consecutiveSuccesses")).isPositive();
        assertThat(h.get("/api/servers/nope/health").code()).isEqualTo(404);
    }

    @Test
    void health_reportsHealthyDegradedUnhealthy() throws Exception {
        AdminHarness.Answer empty = h.get("/api/health");
        assertThat(empty.code()).isEqualTo(503);
        assertThat(empty.json()).containsEntry("status", "unhealthy");

        add(a, 1);
        AdminHarness.Answer ok = h.get("/api/health");
        assertThat(ok.code()).isEqualTo(200);
        assertThat(ok.json()).containsEntry("status", "healthy").containsKey("uptime");
        assertThat((String) ok.json().get("uptime")).matches("\\d+d \\d+h \\d+m");
        assertThat(ok.json().get("servers")).isEqualTo(Map.of("total", 1, "healthy", 1, "unhealthy", 0));

        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        h.post("/api/servers", "{\"host\":\"127.0.0.1\",\"port\":" + closedPort + "}");
        AdminHarness.Answer degraded = h.get("/api/health");
        assertThat(degraded.code()).isEqualTo(200);
        assertThat(degraded.json()).containsEntry("status", "degraded");
    }

    @Test
    void config_getAndPut_appliedLive() throws Exception {
        AdminHarness.Answer r = h.get("/api/config");
        assertThat(r.code()).isEqualTo(200);
        assertThat(r.data())
                .containsKeys(
                        "algorithm",
                        "healthCheckEnabled",
                        "healthCheckInterval",
                        "healthCheckTimeout",
                        "maxRetries",
                        "sessionPersistence",
                        "sslTermination",
                        "sslCertPath",
                        "sslKeyPath",
                        "sslPort");

        AdminHarness.Answer put = h.put(
                "/api/config",
                "{\"maxRetries\":1,\"healthCheckInterval\":7,\"healthCheckTimeout\":2,"
                        + "\"sessionPersistence\":true,\"algorithm\":\"least_connections\"}");
        assertThat(put.code()).as(put.text()).isEqualTo(200);
        assertThat(put.data())
                .containsEntry("maxRetries", 1)
                .containsEntry("healthCheckInterval", 7)
                .containsEntry("sessionPersistence", true);
        assertThat(h.runtime.config().maxRetries()).isEqualTo(1);
        assertThat(h.lb.strategy().name()).isEqualTo("least_connections");
        assertThat(h.lb.activeHealthCheck().interval()).isEqualTo(Duration.ofSeconds(7));
        assertThat(h.lb.activeHealthCheck().timeout()).isEqualTo(Duration.ofSeconds(2));

        AdminHarness.Answer retries =
                h.put("/api/config", "{\"retryOnStatus\":[504,500,502,500],\"baseEjectionTime\":900}");
        assertThat(retries.code()).as(retries.text()).isEqualTo(200);
        assertThat(retries.data())
                .containsEntry("retryOnStatus", List.of(500, 502, 504))
                .containsEntry("baseEjectionTime", 900);
        assertThat(h.runtime.config().retryOnStatus()).containsExactly(500, 502, 504);
        assertThat(h.lb.outlierDetection().baseEjectionTime()).isEqualTo(Duration.ofSeconds(900));
        assertThat(h.lb.outlierDetection().maxEjectionTime()).isEqualTo(Duration.ofSeconds(900));

        AdminHarness.Answer off = h.put("/api/config", "{\"healthCheckEnabled\":false}");
        assertThat(off.code()).isEqualTo(200);
        assertThat(h.lb.activeHealthCheck().enabled()).isFalse();
    }

    @Test
    void algorithms_listAndSwitch() throws Exception {
        AdminHarness.Answer list = h.get("/api/algorithms");
        assertThat(list.code()).isEqualTo(200);
        assertThat(list.data()).containsEntry("current", "round_robin");
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> algorithms =
                (List<Map<String, Object>>) list.data().get("algorithms");
        assertThat(algorithms)
                .extracting(m -> m.get("name"))
                .contains("round_robin", "least_connections", "weighted", "ip_hash");
        assertThat(algorithms).allSatisfy(m -> assertThat(m).containsKeys("description", "current"));

        AdminHarness.Answer put = h.put("/api/algorithm", "{\"algorithm\":\"ip_hash\"}");
        assertThat(put.code()).isEqualTo(200);
        assertThat(put.data()).containsEntry("algorithm", "ip_hash");
        assertThat(h.lb.strategy().name()).isEqualTo("ip_hash");
        assertThat(h.get("/api/algorithms").data()).containsEntry("current", "ip_hash");
    }

    @Test
    void metrics_countProxiedRequests() throws Exception {
        String ida = add(a, 1);
        for (int i = 0; i < 5; i++) {
            assertThat(h.proxied("/m?q=secret")).isEqualTo(200);
        }
        await().atMost(Duration.ofSeconds(5))
                .until(() -> ((Number) h.get("/api/metrics").data().get("totalRequests")).longValue() >= 5);
        Map<String, Object> m = h.get("/api/metrics").data();
        assertThat(m)
                .containsKeys(
                        "requestsPerSecond",
                        "averageResponseTime",
                        "responseTimePercentiles",
                        "retries",
                        "failovers",
                        "activeSessions",
                        "failedRequests")
                .containsEntry("activeServers", 1)
                .containsEntry("unhealthyServers", 0)
                .containsEntry("algorithm", "round_robin");
        assertThat((String) m.get("uptime")).matches("\\d+d \\d+h \\d+m");

        List<Map<String, Object>> servers = h.get("/api/metrics/servers").dataList();
        assertThat(servers).hasSize(1);
        assertThat(servers.get(0)).containsEntry("serverId", ida).containsKeys("requestsPerSecond", "errorRate");
        assertThat(((Number) servers.get(0).get("totalRequests")).longValue()).isGreaterThanOrEqualTo(5);

        await().atMost(Duration.ofSeconds(5))
                .until(() -> ((List<?>) h.get("/api/metrics/requests").data().get("requests")).size() >= 5);
        Map<String, Object> recent = h.get("/api/metrics/requests?limit=3").data();
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> requests = (List<Map<String, Object>>) recent.get("requests");
        assertThat(requests).hasSize(3);
        assertThat(requests.get(0))
                .containsEntry("method", "GET")
                .containsEntry("path", "/m")
                .containsEntry("serverId", ida)
                .containsEntry("status", 200)
                .containsKeys("responseTime", "timestamp");
        assertThat(recent).containsEntry("capacity", 1000);
        assertThat(h.get("/api/metrics/requests").text()).doesNotContain("secret");
    }

    @Test
    void changesUnderLoad_takeEffectWithoutFailures() throws Exception {
        String ida = add(a, 1);
        java.util.concurrent.atomic.AtomicInteger failures = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread load = new Thread(() -> {
            while (running.get()) {
                try {
                    if (h.proxied("/load") != 200) {
                        failures.incrementAndGet();
                    }
                } catch (Exception e) {
                    failures.incrementAndGet();
                }
            }
        });
        load.start();
        try {
            String idb = add(b, 1);
            await().atMost(Duration.ofSeconds(5)).until(() -> b.hits.get() > 5);
            assertThat(h.delete("/api/servers/" + ida).code()).isEqualTo(200);
            int aHits = a.hits.get();
            await().atMost(Duration.ofSeconds(5)).until(() -> b.hits.get() > 50);
            assertThat(a.hits.get()).isLessThanOrEqualTo(aHits + 2); // at most the requests already in flight
            assertThat(h.put("/api/servers/" + idb + "/weight", "{\"weight\":5}")
                            .code())
                    .isEqualTo(200);
        } finally {
            running.set(false);
            load.join();
        }
        assertThat(failures.get()).isZero();
        assertThat(h.lb.pool().list()).allMatch(v -> v.status() == ServerStatus.HEALTHY);
    }
}
