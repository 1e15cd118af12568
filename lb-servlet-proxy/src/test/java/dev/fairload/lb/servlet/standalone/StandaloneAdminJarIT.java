package dev.fairload.lb.servlet.standalone;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.fairload.lb.servlet.TestBackend;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The admin side of {@code java -jar target/lb-proxy.jar} as a child process: persistence across {@code kill -9},
 * a corrupt state file, the token from {@code LB_ADMIN_TOKEN}, {@code /metrics}, and the admin listener's errors.
 * Only processes started here are stopped or killed, by their own handle.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class StandaloneAdminJarIT {
    private static final String TOKEN = "it-token-7d2a";
    private static final MediaType JSON_TYPE = MediaType.get("application/json");

    @TempDir
    Path dir;

    private TestBackend backend;
    private ProxyProcess proxy;
    private final OkHttpClient client = new OkHttpClient.Builder()
            .retryOnConnectionFailure(false)
            .readTimeout(30, TimeUnit.SECONDS)
            .build();

    @BeforeEach
    void start() throws Exception {
        backend = new TestBackend("b1");
    }

    @AfterEach
    void stop() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        backend.close();
        client.dispatcher().executorService().shutdown();
        client.connectionPool().evictAll();
    }

    private Path config(String... extra) throws IOException {
        Path file = dir.resolve("proxy.yaml");
        Files.writeString(
                file,
                String.join(
                        "\n",
                        "host: 127.0.0.1",
                        "port: 0",
                        "adminPort: 0",
                        "healthCheckInterval: 2",
                        "healthCheckTimeout: 1",
                        String.join("\n", extra),
                        ""));
        return file;
    }

    private ProxyProcess startProxy(Path state, String... extraConfig) throws Exception {
        return ProxyProcess.started(
                Map.of("LB_ADMIN_TOKEN", TOKEN),
                "--config",
                config(extraConfig).toString(),
                "--state",
                state.toString());
    }

    private record Answer(int code, String contentType, String text) {
        @SuppressWarnings("unchecked")
        Map<String, Object> json() throws IOException {
            return JSON.std.mapFrom(text);
        }

        @SuppressWarnings("unchecked")
        Map<String, Object> data() throws IOException {
            return (Map<String, Object>) json().get("data");
        }
    }

    private Answer admin(String method, String path, String body) throws IOException {
        Request.Builder r = new Request.Builder()
                .url("http://127.0.0.1:" + proxy.adminPort + path)
                .header("Authorization", "Bearer " + TOKEN)
                .method(method, body == null ? null : RequestBody.create(body, JSON_TYPE));
        return send(r);
    }

    private Answer send(Request.Builder r) throws IOException {
        try (Response response = client.newCall(r.build()).execute()) {
            return new Answer(
                    response.code(),
                    response.header("Content-Type", ""),
                    response.body().string());
        }
    }

    private void killMinus9() throws InterruptedException {
        proxy.process.destroyForcibly(); // SIGKILL on Unix: no shutdown hook runs
        assertThat(proxy.process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        proxy = null;
    }

    @Test
    void killMinus9RightAfterChanges_stateSurvivesRestart() throws Exception {
        Path state = dir.resolve("state.json");
        proxy = startProxy(state);
        assertThat(Files.exists(state)).isFalse();

        Answer created = admin(
                "POST",
                "/api/servers",
                "{\"host\":\"127.0.0.1\",\"port\":" + backend.port()
                        + ",\"weight\":10,\"healthCheckPath\":\"/health\",\"healthCheckInterval\":30}");
        assertThat(created.code()).as(created.text()).isEqualTo(201);
        String id = (String) created.data().get("serverId");
        assertThat(created.data()).containsEntry("status", "healthy");
        Answer config = admin("PUT", "/api/config", "{\"maxRetries\":1,\"algorithm\":\"least_connections\"}");
        assertThat(config.code()).isEqualTo(200);
        Answer weight = admin("PUT", "/api/servers/" + id + "/weight", "{\"weight\":7}");
        assertThat(weight.code()).isEqualTo(200);
        killMinus9();

        proxy = startProxy(state);
        Answer servers = admin("GET", "/api/servers", null);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> list =
                (List<Map<String, Object>>) servers.json().get("data");
        assertThat(list).hasSize(1);
        assertThat(list.get(0))
                .containsEntry("serverId", id)
                .containsEntry("host", "127.0.0.1")
                .containsEntry("port", backend.port())
                .containsEntry("weight", 7)
                .containsEntry("healthCheckInterval", 30)
                .containsEntry("addedAt", created.data().get("addedAt"));
        assertThat(admin("GET", "/api/config", null).data())
                .containsEntry("maxRetries", 1)
                .containsEntry("algorithm", "least_connections");
        Answer through = send(new Request.Builder().url(proxy.url("/hello")));
        assertThat(through.code()).isEqualTo(200);
        assertThat(through.text()).isEqualTo("b1");

        // Removal is persisted as well.
        assertThat(admin("DELETE", "/api/servers/" + id, null).code()).isEqualTo(200);
        killMinus9();
        proxy = startProxy(state);
        assertThat((List<?>) admin("GET", "/api/servers", null).json().get("data"))
                .isEmpty();
    }

    @Test
    void corruptStateFile_stopsTheStartWithExit2_fileUntouched() throws Exception {
        Path state = dir.resolve("state.json");
        byte[] corrupt = "{\"version\":1,\"servers\":[{\"host\":".getBytes(StandardCharsets.UTF_8);
        Files.write(state, corrupt);
        ProxyProcess p = ProxyProcess.start(
                Map.of("LB_ADMIN_TOKEN", TOKEN), "--config", config().toString(), "--state", state.toString());
        proxy = p; // stopped after the test if it did not exit
        int exit = p.awaitExit();
        assertThat(exit).isEqualTo(2);
        assertThat(String.join("\n", p.lines()))
                .contains("state file")
                .contains("corrupt")
                .contains(state.getFileName().toString())
                .contains("left unchanged");
        assertThat(Files.readAllBytes(state)).isEqualTo(corrupt);
        try (var files = Files.list(dir)) {
            assertThat(files.map(f -> f.getFileName().toString()))
                    .containsExactlyInAnyOrder("state.json", "proxy.yaml");
        }
    }

    @Test
    void metricsTokenAndAdminListener() throws Exception {
        proxy = startProxy(dir.resolve("state.json"), "backends:", "  - http://127.0.0.1:" + backend.port());
        for (int i = 0; i < 3; i++) {
            assertThat(send(new Request.Builder().url(proxy.url("/m"))).code()).isEqualTo(200);
        }

        Answer metrics = admin("GET", "/metrics", null);
        assertThat(metrics.code()).isEqualTo(200);
        assertThat(metrics.contentType()).startsWith("text/plain").contains("version=0.0.4");
        assertThat(metrics.text())
                .contains("lb_requests_total{pool=\"proxy\"}")
                .contains("lb_server_requests_active{pool=\"proxy\",server=")
                .contains("lb_response_time_seconds{pool=\"proxy\",quantile=\"0.99\"}");

        // The token from LB_ADMIN_TOKEN guards everything but GET /api/health, /metrics included.
        Answer noToken = send(new Request.Builder().url("http://127.0.0.1:" + proxy.adminPort + "/metrics"));
        assertThat(noToken.code()).isEqualTo(401);
        assertThat(send(new Request.Builder().url("http://127.0.0.1:" + proxy.adminPort + "/api/servers"))
                        .code())
                .isEqualTo(401);
        Answer health = send(new Request.Builder().url("http://127.0.0.1:" + proxy.adminPort + "/api/health"));
        assertThat(health.code()).isEqualTo(200);
        assertThat(health.json()).containsEntry("status", "healthy");

        // The admin listener answers every error in the envelope, the container's own included.
        Answer unknown = admin("GET", "/nope", null);
        assertThat(unknown.code()).isEqualTo(404);
        assertThat(unknown.json()).containsEntry("success", false);
        Answer ambiguous = admin("GET", "/api/servers/a%2Fb", null);
        assertThat(ambiguous.code()).isEqualTo(400);
        assertThat(ambiguous.contentType()).startsWith("application/json");
        assertThat(ambiguous.json()).containsEntry("success", false);
        // The admin listener parses as strictly as the proxy's: a bare LF as a line end is refused.
        String bareLf = dev.fairload.lb.servlet.RawHttp.exchange(
                proxy.adminPort, "GET /api/health HTTP/1.1\nHost: h\nConnection: close\n\n");
        assertThat(dev.fairload.lb.servlet.RawHttp.status(bareLf)).as(bareLf).isEqualTo(400);
        assertThat(bareLf).contains("\"success\":false");

        // The traffic port does not expose management: /api/* goes to the backends like any path.
        Answer proxied = send(new Request.Builder().url(proxy.url("/api/servers")));
        assertThat(proxied.code()).isEqualTo(200);
        assertThat(proxied.text()).isEqualTo("b1");
        assertThat(String.join("\n", proxy.lines())).doesNotContain(TOKEN);
    }

    @Test
    void adminOnProxyPort_byConfiguration() throws Exception {
        proxy = startProxy(dir.resolve("state.json"), "adminOnProxyPort: true");
        Answer onProxy =
                send(new Request.Builder().url(proxy.url("/api/config")).header("Authorization", "Bearer " + TOKEN));
        assertThat(onProxy.code()).isEqualTo(200);
        assertThat(onProxy.json()).containsEntry("success", true);
        assertThat(onProxy.text()).doesNotContain(TOKEN);
    }

    /**
     * Credentials a client sends never show up in what the proxy writes or serves: its log, {@code /metrics} and the
     * admin API's views (recent requests included), whether the request succeeds or its backend fails.
     */
    @Test
    void clientCredentials_neverLoggedOrServed() throws Exception {
        proxy = startProxy(
                dir.resolve("state.json"),
                "maxRetries: 0",
                "backends:",
                "  - http://127.0.0.1:" + backend.port(),
                "  - http://127.0.0.1:1");
        List<String> canaries = List.of(
                "canary-bearer-5f1c",
                "canary-session-9e4b",
                "canary-proxy-auth-77aa",
                "canary-query-3d0e",
                "canary-api-key-c41d");
        for (int i = 0; i < 6; i++) {
            Answer answer = send(new Request.Builder()
                    .url(proxy.url("/account?token=" + canaries.get(3)))
                    .header("Authorization", "Bearer " + canaries.get(0))
                    .header("Cookie", "sessionId=" + canaries.get(1))
                    .header("Proxy-Authorization", "Basic " + canaries.get(2))
                    .header("X-Api-Key", canaries.get(4)));
            assertThat(answer.code()).isIn(200, 502); // the second backend refuses connections
        }
        StringBuilder everything = new StringBuilder(String.join("\n", proxy.lines()));
        for (String path : List.of(
                "/metrics",
                "/api/metrics",
                "/api/metrics/servers",
                "/api/metrics/requests",
                "/api/servers",
                "/api/config",
                "/api/health")) {
            Answer view = admin("GET", path, null);
            assertThat(view.code()).as(path).isEqualTo(200);
            everything.append('\n').append(view.text());
        }
        assertThat(everything.toString()).contains("/account"); // the views did record the requests
        for (String canary : canaries) {
            assertThat(everything.toString()).as("where %s shows up", canary).doesNotContain(canary);
        }
    }
}
