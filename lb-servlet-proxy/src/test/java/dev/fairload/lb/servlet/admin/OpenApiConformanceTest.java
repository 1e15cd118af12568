package dev.fairload.lb.servlet.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.jr.ob.JSON;
import dev.fairload.lb.servlet.TestBackend;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import okhttp3.MediaType;
import okhttp3.Request;
import okhttp3.RequestBody;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Checks the real answers of every operation in {@code docs/openapi.yaml} against the document: each call's status
 * must be documented for its operation, and its body must match the response schema (types, required and only the
 * documented properties, enums, patterns, date-times). Every documented operation is called, and every success
 * status is seen at least once.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenApiConformanceTest {
    private Map<String, Object> spec;
    private AdminHarness h;
    private TestBackend backend;
    private final Set<String> called = new LinkedHashSet<>();
    private final List<String> violations = new ArrayList<>();

    @BeforeAll
    void start() throws Exception {
        Path file = Path.of("..", "docs", "openapi.yaml");
        spec = map(JSON.builder(new YAMLFactory()).build().anyFrom(Files.readString(file)));
        assertThat(spec.get("openapi")).asString().startsWith("3.");
        h = AdminHarness.started();
        backend = new TestBackend("a");
    }

    @AfterAll
    void stop() throws Exception {
        h.close();
        backend.close();
    }

    @Test
    void everyOperation_answersAsDocumented() throws Exception {
        check("get", "/api/health", h.get("/api/health")); // 503: no servers yet
        String body = "{\"host\":\"127.0.0.1\",\"port\":" + backend.port()
                + ",\"weight\":10,\"healthCheckPath\":\"/health\",\"healthCheckInterval\":30}";
        AdminHarness.Answer created = h.post("/api/servers", body);
        check("post", "/api/servers", created);
        String id = (String) created.data().get("serverId");
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        String down = (String) h.post("/api/servers", "{\"host\":\"127.0.0.1\",\"port\":" + closed + "}")
                .data()
                .get("serverId");
        for (int i = 0; i < 4; i++) {
            h.proxied("/p?x=" + i);
        }
        check("get", "/api/health", h.get("/api/health"));
        check("get", "/api/servers", h.get("/api/servers"));
        check("get", "/api/servers/{serverId}", h.get("/api/servers/" + id));
        check("put", "/api/servers/{serverId}/weight", h.put("/api/servers/" + id + "/weight", "{\"weight\":3}"));
        check("get", "/api/servers/{serverId}/health", h.get("/api/servers/" + id + "/health"));
        check("get", "/api/servers/{serverId}/health", h.get("/api/servers/" + down + "/health"));
        check("get", "/api/config", h.get("/api/config"));
        check("put", "/api/config", h.put("/api/config", "{\"maxRetries\":2}"));
        check("get", "/api/algorithms", h.get("/api/algorithms"));
        check("put", "/api/algorithm", h.put("/api/algorithm", "{\"algorithm\":\"weighted\"}"));
        check("get", "/api/metrics", h.get("/api/metrics"));
        check("get", "/api/metrics/servers", h.get("/api/metrics/servers"));
        check("get", "/api/metrics/requests", h.get("/api/metrics/requests"));
        check("get", "/api/metrics/requests", h.get("/api/metrics/requests?limit=2"));
        check(
                "put",
                "/api/servers/{serverId}/draining",
                h.put("/api/servers/" + id + "/draining", "{\"draining\":true}"));
        check(
                "put",
                "/api/servers/{serverId}/draining",
                h.put("/api/servers/" + id + "/draining", "{\"draining\":false}"));
        check("get", "/api/metrics/history", h.get("/api/metrics/history"));
        check("get", "/api/metrics/history", h.get("/api/metrics/history?after=1"));
        check("get", "/api/events", h.get("/api/events"));
        check("get", "/api/events", h.get("/api/events?after=2"));

        // Errors, each against its documented response.
        check("post", "/api/servers", h.post("/api/servers", "{\"host\":\"127.0.0.1\"}"));
        check("post", "/api/servers", h.post("/api/servers", body));
        // Over 64 KiB: with Expect: 100-continue the client sends the body only if asked, so the 413 (decided from
        // Content-Length) cannot race a body write into a connection the server has closed.
        check(
                "post",
                "/api/servers",
                h.call(new Request.Builder()
                        .url(h.adminUrl("/api/servers"))
                        .header("Expect", "100-continue")
                        .post(RequestBody.create("{\"a\":\"" + "x".repeat(70_000) + "\"}", AdminHarness.JSON_TYPE))));
        check(
                "post",
                "/api/servers",
                h.call(new Request.Builder()
                        .url(h.adminUrl("/api/servers"))
                        .post(RequestBody.create(body, MediaType.get("text/plain")))));
        check(
                "post",
                "/api/servers",
                h.call(new Request.Builder()
                        .url(h.adminUrl("/api/servers"))
                        .header("Origin", "https://evil.example")
                        .post(RequestBody.create(body, AdminHarness.JSON_TYPE))));
        check("get", "/api/servers/{serverId}", h.get("/api/servers/nope"));
        check("put", "/api/servers/{serverId}/weight", h.put("/api/servers/" + id + "/weight", "{\"weight\":0}"));
        check("put", "/api/config", h.put("/api/config", "{\"maxRetries\":99}"));
        check("put", "/api/algorithm", h.put("/api/algorithm", "{\"algorithm\":\"nope\"}"));
        check("get", "/api/metrics/requests", h.get("/api/metrics/requests?limit=0"));
        check("get", "/api/metrics/history", h.get("/api/metrics/history?after=-1"));
        check("get", "/api/events", h.get("/api/events?after=x"));
        check(
                "put",
                "/api/servers/{serverId}/draining",
                h.put("/api/servers/" + id + "/draining", "{\"draining\":\"yes\"}"));
        check("put", "/api/servers/{serverId}/draining", h.put("/api/servers/nope/draining", "{\"draining\":true}"));
        check("get", "/api/health", h.post("/api/health", "{}"));
        check("delete", "/api/servers/{serverId}", h.delete("/api/servers/" + down));
        check("delete", "/api/servers/{serverId}", h.delete("/api/servers/" + down));

        assertThat(violations).isEmpty();
        assertThat(called).containsAll(documentedOperations());
    }

    @Test
    void unauthorized_asDocumented() throws Exception {
        AdminHarness secured = new AdminHarness(
                dev.fairload.lb.LoadBalancer.builder(),
                dev.fairload.lb.servlet.ProxyConfig.defaults(),
                b -> b.bearerToken("t0ken"));
        try {
            check("get", "/api/servers", secured.get("/api/servers"));
            check("get", "/api/metrics", secured.get("/api/metrics"));
        } finally {
            secured.close();
        }
        assertThat(violations).isEmpty();
    }

    @Test
    void config_withTlsCertificates_asDocumented() throws Exception {
        okhttp3.tls.HeldCertificate ca = new okhttp3.tls.HeldCertificate.Builder()
                .certificateAuthority(0)
                .commonName("ca")
                .build();
        okhttp3.tls.HeldCertificate leaf = new okhttp3.tls.HeldCertificate.Builder()
                .signedBy(ca)
                .commonName("shop.example")
                .addSubjectAlternativeName("shop.example")
                .addSubjectAlternativeName("127.0.0.1")
                .build();
        var info = dev.fairload.lb.servlet.tls.CertificateInfo.of(
                "default", leaf.certificate(), true, java.time.Instant.now());
        AdminHarness withTls = new AdminHarness(
                dev.fairload.lb.LoadBalancer.builder(),
                dev.fairload.lb.servlet.ProxyConfig.defaults(),
                b -> b.tlsCertificates(() -> List.of(info)));
        try {
            AdminHarness.Answer config = withTls.get("/api/config");
            check("get", "/api/config", config);
            assertThat((List<?>) config.data().get("tlsCertificates")).hasSize(1);
            check("put", "/api/config", withTls.put("/api/config", "{\"maxRetries\":2}"));
            check("put", "/api/config", withTls.put("/api/config", "{\"tlsCertificates\":[]}"));
            check("put", "/api/algorithm", withTls.put("/api/algorithm", "{\"algorithm\":\"weighted\"}"));
        } finally {
            withTls.close();
        }
        assertThat(violations).isEmpty();
    }

    private Set<String> documentedOperations() {
        Set<String> ops = new LinkedHashSet<>();
        map(spec.get("paths"))
                .forEach((path, item) -> map(item).keySet().stream()
                        .filter(k -> !k.equals("parameters"))
                        .forEach(method -> ops.add(method + " " + path)));
        return ops;
    }

    private void check(String method, String path, AdminHarness.Answer answer) {
        called.add(method + " " + path);
        String where = method.toUpperCase() + " " + path + " -> " + answer.code();
        Map<String, Object> operation =
                map(map(map(spec.get("paths")).get(path)).get(method));
        if (operation == null) {
            violations.add(where + ": operation not documented");
            return;
        }
        Map<String, Object> response = map(map(operation.get("responses")).get(Integer.toString(answer.code())));
        if (response == null) {
            violations.add(where + ": status not documented");
            return;
        }
        response = resolve(response);
        Map<String, Object> schema =
                map(map(map(response.get("content")).get("application/json")).get("schema"));
        assertThat(answer.headers().get("Content-Type")).as(where).startsWith("application/json");
        validate(where, "$", answer.json(), schema);
    }

    // A small JSON-schema checker for the subset the document uses ---------------------------------------------

    private void validate(String where, String at, Object value, Map<String, Object> schema) {
        schema = resolve(schema);
        if (value == null) {
            if (!Boolean.TRUE.equals(schema.get("nullable"))) {
                violations.add(where + ": " + at + " is null but not nullable");
            }
            return;
        }
        String type = (String) schema.get("type");
        if (type != null && !hasType(value, type)) {
            violations.add(where + ": " + at + " = " + value + " is not " + type);
            return;
        }
        if (schema.get("enum") instanceof List<?> values
                && values.stream().noneMatch(v -> String.valueOf(v).equals(String.valueOf(value)))) {
            violations.add(where + ": " + at + " = " + value + " not in " + values);
        }
        if (schema.get("pattern") instanceof String pattern
                && !Pattern.compile(pattern).matcher(value.toString()).find()) {
            violations.add(where + ": " + at + " = " + value + " does not match " + pattern);
        }
        if ("date-time".equals(schema.get("format"))) {
            try {
                OffsetDateTime.parse(value.toString());
            } catch (RuntimeException e) {
                violations.add(where + ": " + at + " = " + value + " is not a date-time");
            }
        }
        if (value instanceof Map<?, ?> object) {
            Map<String, Object> properties = map(schema.get("properties"));
            if (schema.get("required") instanceof List<?> required) {
                for (Object name : required) {
                    if (!object.containsKey(name)) {
                        violations.add(where + ": " + at + "." + name + " is required but missing");
                    }
                }
            }
            for (Map.Entry<?, ?> e : object.entrySet()) {
                String name = (String) e.getKey();
                Map<String, Object> property = properties == null ? null : map(properties.get(name));
                if (property == null) {
                    if (Boolean.FALSE.equals(schema.get("additionalProperties"))) {
                        violations.add(where + ": " + at + "." + name + " is not documented");
                    }
                    continue;
                }
                validate(where, at + "." + name, e.getValue(), property);
            }
        }
        if (value instanceof List<?> list && schema.get("items") != null) {
            for (int i = 0; i < list.size(); i++) {
                validate(where, at + "[" + i + "]", list.get(i), map(schema.get("items")));
            }
        }
    }

    private static boolean hasType(Object value, String type) {
        return switch (type) {
            case "object" -> value instanceof Map;
            case "array" -> value instanceof List;
            case "string" -> value instanceof String;
            case "integer" ->
                value instanceof Integer || value instanceof Long || value instanceof java.math.BigInteger;
            case "number" -> value instanceof Number;
            case "boolean" -> value instanceof Boolean;
            default -> false;
        };
    }

    private Map<String, Object> resolve(Map<String, Object> node) {
        while (node != null && node.get("$ref") instanceof String ref) {
            assertThat(ref).startsWith("#/");
            Object target = spec;
            for (String part : ref.substring(2).split("/")) {
                target = map(target).get(part);
            }
            assertThat(target).as(ref).isNotNull();
            node = map(target);
        }
        return node;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        return (Map<String, Object>) o;
    }
}
