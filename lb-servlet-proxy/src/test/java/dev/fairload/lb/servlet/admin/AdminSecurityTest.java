package dev.fairload.lb.servlet.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.servlet.ProxyConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import okhttp3.Request;
import okhttp3.RequestBody;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Bearer token, cross-site refusal and secrecy, through real HTTP. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AdminSecurityTest {
    private static final String TOKEN = "canary-token-5f1c9e";

    private AdminHarness h;

    @BeforeAll
    void start() throws Exception {
        h = new AdminHarness(
                LoadBalancer.builder().name("secure"),
                ProxyConfig.builder().healthCheckEnabled(false).build(),
                b -> b.bearerToken(TOKEN));
    }

    @AfterAll
    void stop() throws Exception {
        h.close();
    }

    private AdminHarness.Answer as(String authorization, Request.Builder request) throws Exception {
        h.token = null;
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        return h.call(request);
    }

    @Test
    void everyCallButHealth_needsTheToken() throws Exception {
        List<Request.Builder> calls = List.of(
                new Request.Builder().url(h.adminUrl("/api/servers")),
                new Request.Builder()
                        .url(h.adminUrl("/api/servers"))
                        .post(RequestBody.create("{\"host\":\"127.0.0.1\",\"port\":9}", AdminHarness.JSON_TYPE)),
                new Request.Builder().url(h.adminUrl("/api/servers/x")).delete(),
                new Request.Builder().url(h.adminUrl("/api/config")),
                new Request.Builder().url(h.adminUrl("/api/metrics")),
                new Request.Builder().url(h.adminUrl("/api/metrics/requests")),
                new Request.Builder().url(h.adminUrl("/api/algorithms")),
                new Request.Builder().url(h.adminUrl("/api/nope")));
        for (Request.Builder call : calls) {
            for (String auth :
                    new String[] {null, "Bearer wrong", "Bearer " + TOKEN + "x", "Basic " + TOKEN, "Bearer", TOKEN}) {
                AdminHarness.Answer r = as(auth, call);
                assertThat(r.code()).as("%s with %s", call.build(), auth).isEqualTo(401);
                assertThat(r.headers().get("WWW-Authenticate")).startsWith("Bearer");
                assertThat(r.json()).containsEntry("success", false);
                assertThat(r.text()).doesNotContain(TOKEN);
            }
        }
        assertThat(h.lb.pool().size()).isZero();
        assertThat(as(null, new Request.Builder().url(h.adminUrl("/api/health")))
                        .code())
                .isEqualTo(503); // no servers: reachable without a token, and honest
        assertThat(as("Bearer " + TOKEN, new Request.Builder().url(h.adminUrl("/api/servers")))
                        .code())
                .isEqualTo(200);
        assertThat(as("bearer " + TOKEN, new Request.Builder().url(h.adminUrl("/api/config")))
                        .code())
                .isEqualTo(200);
    }

    @Test
    void crossSiteChanges_refused() throws Exception {
        h.token = TOKEN;
        String body = "{\"host\":\"127.0.0.1\",\"port\":19}";
        AdminHarness.Answer evil = h.call(new Request.Builder()
                .url(h.adminUrl("/api/servers"))
                .header("Origin", "https://evil.example")
                .post(RequestBody.create(body, AdminHarness.JSON_TYPE)));
        assertThat(evil.code()).isEqualTo(403);
        assertThat(evil.headers().get("Access-Control-Allow-Origin")).isNull();
        AdminHarness.Answer fetchSite = h.call(new Request.Builder()
                .url(h.adminUrl("/api/config"))
                .header("Sec-Fetch-Site", "cross-site")
                .put(RequestBody.create("{\"maxRetries\":1}", AdminHarness.JSON_TYPE)));
        assertThat(fetchSite.code()).isEqualTo(403);
        AdminHarness.Answer delete = h.call(new Request.Builder()
                .url(h.adminUrl("/api/servers/x"))
                .header("Origin", "null")
                .delete());
        assertThat(delete.code()).isEqualTo(403);
        assertThat(h.lb.pool().size()).isZero();
        assertThat(h.runtime.config().maxRetries()).isEqualTo(3);

        // Same origin (a page served from the admin port itself) and reads are fine.
        AdminHarness.Answer same = h.call(new Request.Builder()
                .url(h.adminUrl("/api/servers"))
                .header("Origin", "http://127.0.0.1:" + h.adminPort)
                .post(RequestBody.create(body, AdminHarness.JSON_TYPE)));
        assertThat(same.code()).isEqualTo(201);
        AdminHarness.Answer read =
                h.call(new Request.Builder().url(h.adminUrl("/api/servers")).header("Origin", "https://evil.example"));
        assertThat(read.code()).isEqualTo(200);
        assertThat(read.headers().get("Access-Control-Allow-Origin")).isNull();
        h.delete("/api/servers/" + same.data().get("serverId"));
    }

    @Test
    void preflight_neverGranted() throws Exception {
        h.token = null;
        AdminHarness.Answer r = h.call(new Request.Builder()
                .url(h.adminUrl("/api/servers"))
                .method("OPTIONS", null)
                .header("Origin", "https://evil.example")
                .header("Access-Control-Request-Method", "POST"));
        assertThat(r.code()).isIn(401, 405);
        assertThat(r.headers().names()).noneMatch(n -> n.toLowerCase().startsWith("access-control-"));
    }

    @Test
    void tokenNeverInConfigAnswersOrLogs() throws Exception {
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            h.token = TOKEN;
            AdminHarness.Answer config = h.get("/api/config");
            assertThat(config.code()).isEqualTo(200);
            assertThat(config.text()).doesNotContain(TOKEN).doesNotContainIgnoringCase("token");
            h.put("/api/config", "{\"maxRetries\":2}");
            h.put("/api/config", "{\"maxRetries\":3}");
            h.token = "wrong-" + TOKEN;
            h.get("/api/servers");
        } finally {
            System.setErr(original);
        }
        assertThat(captured.toString(StandardCharsets.UTF_8)).doesNotContain(TOKEN);
        assertThat(h.admin.toString()).doesNotContain(TOKEN);
    }
}
