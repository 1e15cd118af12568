package dev.fairload.lb.servlet.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairload.lb.servlet.ProxyConfig;
import dev.fairload.lb.servlet.TestBackend;
import java.io.IOException;
import java.util.List;
import java.util.stream.Stream;
import okhttp3.MediaType;
import okhttp3.Request;
import okhttp3.RequestBody;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad admin input, each case through real HTTP: the right 4xx, the error envelope naming the field, no stack trace,
 * and nothing changed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AdminBadInputTest {
    private AdminHarness h;
    private TestBackend backend;
    private String serverId;

    @BeforeAll
    void start() throws Exception {
        h = AdminHarness.started();
        backend = new TestBackend("a");
        AdminHarness.Answer r = h.post("/api/servers", "{\"host\":\"127.0.0.1\",\"port\":" + backend.port() + "}");
        assertThat(r.code()).isEqualTo(201);
        serverId = (String) r.data().get("serverId");
    }

    @AfterAll
    void stop() throws Exception {
        h.close();
        backend.close();
    }

    /** The state a bad call must leave untouched. */
    private Object state() throws IOException {
        return List.of(
                h.get("/api/servers").dataList().stream()
                        .map(m -> m.get("serverId") + "@" + m.get("host") + ":" + m.get("port") + "/" + m.get("weight"))
                        .toList(),
                h.get("/api/config").data());
    }

    private void assertRefused(AdminHarness.Answer r, int status, String errorContains) {
        assertThat(r.code()).as(r.text()).isEqualTo(status);
        assertThat(r.headers().get("Content-Type")).startsWith("application/json");
        assertThat(r.json()).containsEntry("success", false).containsOnlyKeys("success", "error");
        assertThat(r.error()).contains(errorContains);
        assertThat(r.text()).doesNotContain("Exception", "\tat ", "dev.fairload");
    }

    static Stream<Arguments> badServerBodies() {
        return Stream.of(
                Arguments.of("not json", 400, "body"),
                Arguments.of("{\"host\":\"127.0.0.1\",\"port\":9001", 400, "body"), // truncated
                Arguments.of("{\"host\":\"127.0.0.1\",\"port\":9001} x", 400, "malformed JSON"),
                Arguments.of("{\"host\":\"127.0.0.1\",\"port\":9001} {}", 400, "after the JSON value"),
                Arguments.of("[{\"host\":\"127.0.0.1\",\"port\":9001}]", 400, "expected: a JSON object"),
                Arguments.of("{\"host\":\"a\",\"host\":\"b\",\"port\":9001}", 400, "duplicate field 'host'"),
                Arguments.of("[".repeat(10_000) + "]".repeat(10_000), 400, "nested"),
                Arguments.of("", 400, "empty"),
                Arguments.of("null", 400, "expected: a JSON object"),
                Arguments.of("{\"host\":\"127.0.0.1\",\"port\":\"80\"}", 400, "port: '80'"),
                // SSRF: link-local (cloud metadata) and unspecified addresses are never backends
                Arguments.of("{\"host\":\"169.254.169.254\",\"port\":80}", 400, "host: '169.254.169.254'"),
                Arguments.of("{\"host\":\"[fe80::1]\",\"port\":80}", 400, "link-local"),
                Arguments.of("{\"host\":\"::ffff:a9fe:a9fe\",\"port\":80}", 400, "link-local"), // 169.254.169.254
                Arguments.of("{\"host\":\"0.0.0.0\",\"port\":80}", 400, "host: '0.0.0.0'"),
                Arguments.of("{\"host\":\"::\",\"port\":80}", 400, "unspecified"),
                Arguments.of("{\"host\":\"127.0.0.1\",\"port\":80.0}", 400, "port"),
                Arguments.of("{\"host\":\"127.0.0.1\",\"port\":true}", 400, "port"),
                Arguments.of("{\"host\":\"127.0.0.1\"}", 400, "port: missing"),
                Arguments.of("{\"port\":9001}", 400, "host: missing"),
                Arguments.of("{\"host\":12,\"port\":9001}", 400, "host"),
                Arguments.of("{\"host\":\"127.0.0.1\",\"port\":0}", 400, "port: 0 (expected: 1-65535)"),
                Arguments.of("{\"host\":\"127.0.0.1\",\"port\":65536}", 400, "port: 65536"),
                Arguments.of("{\"host\":\"127.0.0.1\",\"port\":-1}", 400, "port"),
                Arguments.of("{\"host\":\"127.0.0.1\",\"port\":99999999999999999999999}", 400, "port"),
                Arguments.of(
                        "{\"host\":\"127.0.0.1\",\"port\":9001,\"weight\":0}", 400, "weight: 0 (expected: 1-1000)"),
                Arguments.of("{\"host\":\"127.0.0.1\",\"port\":9001,\"weight\":1001}", 400, "weight: 1001"),
                Arguments.of("{\"host\":\"127.0.0.1\",\"port\":9001,\"weight\":\"10\"}", 400, "weight"),
                Arguments.of("{\"host\":\"127.0.0.1\",\"port\":9001,\"weight\":10.5}", 400, "weight"),
                Arguments.of("{\"host\":\"127.0.0.1\",\"port\":9001,\"weight\":null}", 400, "weight"),
                Arguments.of("{\"host\":\"127.0.0.1\",\"port\":9001,\"color\":\"red\"}", 400, "color: unknown field"),
                Arguments.of("{\"host\":\"\",\"port\":9001}", 400, "host"),
                Arguments.of("{\"host\":\"a b\",\"port\":9001}", 400, "host"),
                Arguments.of("{\"host\":\"http://x\",\"port\":9001}", 400, "host"),
                Arguments.of("{\"host\":\"x/y\",\"port\":9001}", 400, "host"),
                Arguments.of("{\"host\":\"x:80\",\"port\":9001}", 400, "host"),
                Arguments.of("{\"host\":\"x\\r\\nEvil: 1\",\"port\":9001}", 400, "host"),
                Arguments.of("{\"host\":\"user@host\",\"port\":9001}", 400, "host"),
                Arguments.of("{\"host\":\"999.1.1.1\",\"port\":9001}", 400, "host"),
                Arguments.of("{\"host\":\"" + "a".repeat(300) + "\",\"port\":9001}", 400, "host"),
                Arguments.of(
                        "{\"host\":\"127.0.0.1\",\"port\":9001,\"healthCheckPath\":\"no-slash\"}",
                        400,
                        "healthCheckPath"),
                Arguments.of(
                        "{\"host\":\"127.0.0.1\",\"port\":9001,\"healthCheckInterval\":0}", 400, "healthCheckInterval"),
                Arguments.of(
                        "{\"host\":\"127.0.0.1\",\"port\":9001,\"healthCheckFastInterval\":0}",
                        400,
                        "healthCheckFastInterval"),
                Arguments.of(
                        "{\"host\":\"127.0.0.1\",\"port\":9001,\"healthCheckFastInterval\":1.5}",
                        400,
                        "healthCheckFastInterval: 1.5 (expected: an integer"),
                // One rule for every integer field: a number written with a fraction or an exponent is refused.
                Arguments.of("{\"host\":\"127.0.0.1\",\"port\":20502.0}", 400, "port: 20502.0 (expected: an integer"),
                Arguments.of("{\"host\":\"127.0.0.1\",\"port\":9001,\"weight\":2.0}", 400, "weight: 2.0"),
                Arguments.of(
                        "{\"host\":\"127.0.0.1\",\"port\":9001,\"healthCheckInterval\":3e0}",
                        400,
                        "healthCheckInterval: 3.0 (expected: an integer"));
    }

    @ParameterizedTest
    @MethodSource("badServerBodies")
    void postServers_badBody_refusedAndNothingChanged(String body, int status, String errorContains)
            throws IOException {
        Object before = state();
        assertRefused(h.post("/api/servers", body), status, errorContains);
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void postServers_duplicateHostPort_409() throws IOException {
        Object before = state();
        assertRefused(
                h.post("/api/servers", "{\"host\":\"127.0.0.1\",\"port\":" + backend.port() + "}"),
                409,
                "already in the pool");
        assertRefused(
                h.post("/api/servers", "{\"host\":\"127.0.0.1\",\"port\":1,\"serverId\":\"" + serverId + "\"}"),
                409,
                "already in the pool");
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void unknownIds_404() throws IOException {
        Object before = state();
        assertRefused(h.get("/api/servers/nope"), 404, "serverId: 'nope'");
        assertRefused(h.delete("/api/servers/nope"), 404, "no such server");
        assertRefused(h.put("/api/servers/nope/weight", "{\"weight\":3}"), 404, "no such server");
        assertRefused(h.get("/api/servers/nope/health"), 404, "no such server");
        // The container refuses an encoded separator before routing (the standalone answers that in the
        // envelope too: StandaloneAdminJarIT).
        assertThat(h.get("/api/servers/..%2F..%2Fetc").code()).isEqualTo(400);
        assertThat(h.get("/api/servers/a%2Fb").code()).isEqualTo(400);
        assertRefused(h.get("/api/servers/" + "x".repeat(1_000)), 404, "");
        // Longer than the container's request line limit: 414 (and the connection is closed).
        assertThat(h.call(new Request.Builder()
                                .url(h.adminUrl("/api/servers/" + "x".repeat(10_000)))
                                .header("Connection", "close"))
                        .code())
                .isEqualTo(414);
        assertRefused(h.get("/api/servers/%C3%A9t%C3%A9"), 404, "");
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void unknownPath_404() throws IOException {
        assertRefused(h.get("/api/nope"), 404, "no such endpoint");
        assertRefused(h.get("/api/servers/"), 404, "no such endpoint");
        assertRefused(h.post("/api/metrics/x", "{}"), 404, "no such endpoint");
    }

    @Test
    void wrongMethod_405WithAllow() throws IOException {
        Object before = state();
        AdminHarness.Answer r = h.delete("/api/servers");
        assertRefused(r, 405, "method: DELETE");
        assertThat(r.headers().get("Allow")).isEqualTo("GET, POST");
        assertRefused(h.post("/api/health", "{}"), 405, "expected: GET");
        assertRefused(h.get("/api/algorithm"), 405, "expected: PUT");
        assertRefused(h.post("/api/config", "{}"), 405, "expected: GET, PUT");
        assertRefused(h.get("/api/servers/" + serverId + "/weight"), 405, "expected: PUT");
        assertRefused(
                h.call(new Request.Builder().url(h.adminUrl("/api/servers")).method("PATCH", body("{}"))),
                405,
                "PATCH");
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void bodyOver64KiB_413() throws IOException {
        Object before = state();
        // Over raw sockets, sending only what the server reads before it refuses: a server that closes a
        // connection with unread input resets it, and the client could lose the answer. With a declared length
        // the refusal comes from the header alone; a chunked body is refused after 64 KiB + 1 bytes.
        String declared = exchange("Content-Length: 70000\r\n\r\n", new byte[0]);
        assertThat(declared)
                .startsWith("HTTP/1.1 413")
                .contains("\"success\":false")
                .contains("65536");
        byte[] body = ("{\"host\":\"127.0.0.1\",\"port\":9001,\"healthCheckPath\":\"/" + "a".repeat(70_000) + "\"}")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        String chunked = exchange(
                "Transfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(body.length) + "\r\n",
                java.util.Arrays.copyOf(body, 65_537));
        assertThat(chunked)
                .startsWith("HTTP/1.1 413")
                .contains("\"success\":false")
                .contains("65536");
        assertThat(state()).isEqualTo(before);
    }

    /** Sends a POST /api/servers with these framing headers and body bytes; returns the whole answer. */
    private String exchange(String framing, byte[] body) throws IOException {
        try (java.net.Socket socket = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), h.adminPort)) {
            socket.setSoTimeout(10_000);
            java.io.OutputStream out = socket.getOutputStream();
            out.write(("POST /api/servers HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                            + "Content-Type: application/json\r\n" + framing)
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            return new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    @Test
    void nonJsonContentType_415() throws IOException {
        Object before = state();
        String ok = "{\"host\":\"127.0.0.1\",\"port\":9001}";
        for (String type : List.of(
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
                "application/json; charset=iso-8859-1",
                "application/jsonx")) {
            assertRefused(
                    h.call(new Request.Builder()
                            .url(h.adminUrl("/api/servers"))
                            .post(RequestBody.create(ok.getBytes(), MediaType.get(type)))),
                    415,
                    "Content-Type");
        }
        assertRefused(
                h.call(new Request.Builder().url(h.adminUrl("/api/servers")).post(RequestBody.create(ok.getBytes()))),
                415,
                "Content-Type: missing");
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void byteOrderMarkOrBadUtf8_400() throws IOException {
        Object before = state();
        byte[] bom = "\uFEFF{\"host\":\"127.0.0.1\",\"port\":9001}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertRefused(h.call(post(bom)), 400, "byte order mark");
        byte[] latin1 = "{\"host\":\"h\u00e9\",\"port\":9001}".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        assertRefused(h.call(post(latin1)), 400, "UTF-8");
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void unknownAlgorithm_400ListsValidOnes() throws IOException {
        Object before = state();
        AdminHarness.Answer r = h.put("/api/algorithm", "{\"algorithm\":\"nope\"}");
        assertRefused(r, 400, "algorithm: 'nope'");
        assertThat(r.error()).contains("round_robin", "least_connections", "weighted", "ip_hash");
        assertRefused(h.put("/api/algorithm", "{\"name\":\"round_robin\"}"), 400, "name: unknown field");
        assertRefused(h.put("/api/algorithm", "{\"algorithm\":7}"), 400, "algorithm");
        assertThat(state()).isEqualTo(before);
    }

    static Stream<Arguments> badConfigs() {
        return Stream.of(
                Arguments.of("{\"maxRetries\":11}", "maxRetries: 11"),
                Arguments.of("{\"maxRetries\":\"2\"}", "maxRetries"),
                Arguments.of("{\"healthCheckInterval\":0}", "healthCheckInterval"),
                Arguments.of("{\"healthCheckFastInterval\":0}", "healthCheckFastInterval: 0 (expected: 1-3600)"),
                Arguments.of("{\"healthCheckTimeout\":301}", "healthCheckTimeout: 301 (expected: 1-300)"),
                // One rule for every integer field, as for port and weight.
                Arguments.of("{\"maxRetries\":2.0}", "maxRetries: 2.0 (expected: an integer)"),
                Arguments.of("{\"maxRetries\":3e0}", "maxRetries: 3.0 (expected: an integer)"),
                Arguments.of("{\"healthCheckInterval\":10.0}", "healthCheckInterval: 10.0 (expected: an integer)"),
                Arguments.of("{\"retryOnStatus\":[502.0]}", "retryOnStatus: 502.0 (expected: an integer)"),
                // Two fields that disagree: the error names the one sent.
                Arguments.of("{\"sslTermination\":true}", "sslTermination: true (expected: false while sslCertPath"),
                Arguments.of("{\"requestTimeoutMillis\":1000}", "requestTimeoutMillis: 1000 (expected: 0 or at least"),
                Arguments.of(
                        "{\"responseHeadersTimeoutMillis\":60000}",
                        "responseHeadersTimeoutMillis: 60000 (expected: at most requestTimeoutMillis"),
                Arguments.of("{\"sessionCookieName\":\"FAIRLOAD_STICKY\"}", "sessionCookieName: 'FAIRLOAD_STICKY'"),
                Arguments.of("{\"sslPort\":70000}", "sslPort"),
                Arguments.of("{\"sessionPersistence\":\"yes\"}", "sessionPersistence"),
                Arguments.of("{\"algorithm\":\"fastest\"}", "algorithm"),
                Arguments.of("{\"color\":\"red\"}", "color: unknown field"),
                Arguments.of("{\"maxRetries\":1,\"sslPort\":0}", "sslPort"), // nothing applied, not even maxRetries
                Arguments.of("{\"trustedProxies\":[\"not-a-cidr\"]}", "trustedProxies"),
                Arguments.of("{\"retryOnStatus\":[404]}", "retryOnStatus: 404 (expected: 500-599)"),
                Arguments.of("{\"retryOnStatus\":[\"500\"]}", "retryOnStatus"),
                Arguments.of("{\"retryOnStatus\":500}", "retryOnStatus"),
                Arguments.of("{\"baseEjectionTime\":0}", "baseEjectionTime: 0 (expected: 1-3600)"),
                Arguments.of("{\"maxRetries\":1,\"baseEjectionTime\":3601}", "baseEjectionTime"),
                Arguments.of(
                        "{\"upstreamIdleTimeoutMillis\":99}", "upstreamIdleTimeoutMillis: 99 (expected: 100-3600000)"),
                Arguments.of("{\"algorithm\":null}", "algorithm"));
    }

    @ParameterizedTest
    @MethodSource("badConfigs")
    void putConfig_invalid_400NamingTheFieldAndNothingApplied(String body, String field) throws IOException {
        Object before = state();
        var healthBefore = h.lb.activeHealthCheck();
        ProxyConfig configBefore = h.runtime.config();
        AdminHarness.Answer r = h.put("/api/config", body);
        assertRefused(r, 400, field);
        // The error starts with a field the request sent, never one it did not.
        String named = r.error().substring(0, r.error().indexOf(':'));
        assertThat(body).contains("\"" + named + "\"");
        assertThat(state()).isEqualTo(before);
        assertThat(h.runtime.config()).isEqualTo(configBefore);
        assertThat(h.lb.activeHealthCheck()).isSameAs(healthBefore);
    }

    @Test
    void putWeight_invalid_400() throws IOException {
        Object before = state();
        for (String body : List.of(
                "{\"weight\":0}",
                "{\"weight\":1001}",
                "{\"weight\":-1}",
                "{\"weight\":\"10\"}",
                "{\"weight\":1e9}",
                "{\"weight\":true}",
                "{}",
                "{\"weight\":5,\"extra\":1}")) {
            assertRefused(h.put("/api/servers/" + serverId + "/weight", body), 400, "");
        }
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void metricsRequests_badLimit_400() throws IOException {
        assertRefused(h.get("/api/metrics/requests?limit=0"), 400, "limit");
        assertRefused(h.get("/api/metrics/requests?limit=abc"), 400, "limit");
        assertRefused(h.get("/api/metrics/requests?limit=1001"), 400, "limit");
    }

    private Request.Builder post(byte[] bytes) {
        return new Request.Builder()
                .url(h.adminUrl("/api/servers"))
                .post(RequestBody.create(bytes, AdminHarness.JSON_TYPE));
    }

    private static RequestBody body(String json) {
        return RequestBody.create(json, AdminHarness.JSON_TYPE);
    }
}
