package dev.fairload.lb.servlet.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.ServerView;
import dev.fairload.lb.health.ActiveHealthCheck;
import dev.fairload.lb.servlet.ProxyConfig;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.statistics.Statistics;
import okhttp3.MediaType;
import okhttp3.Request;
import okhttp3.RequestBody;

/**
 * Property: whatever body a client sends to a write endpoint, the answer is 2xx or 4xx in the envelope, a refused
 * call changes nothing, an accepted one changes what it says, and the balancer, the runtime and the API always
 * agree (unique ids and addresses, strategy = algorithm, health checks = config). 10,000 generated calls through
 * real HTTP: structured bodies with right and wrong fields, types and ranges, mutated JSON, and garbage.
 */
class AdminWriteFuzzTest {
    private static final List<String> CONFIG_FIELDS = ProxyConfig.FIELDS;
    private static final List<String> SERVER_FIELDS =
            List.of("host", "port", "weight", "healthCheckPath", "healthCheckInterval", "serverId");

    private static AdminHarness h;
    private static List<Integer> closedPorts;

    @BeforeContainer
    static void start() throws Exception {
        h = new AdminHarness(
                LoadBalancer.builder().name("fuzz"),
                ProxyConfig.builder()
                        .healthCheckEnabled(false)
                        .healthCheckInterval(2)
                        .healthCheckTimeout(1)
                        .build(),
                b -> {});
        // Servers are added on loopback ports that nothing listens on: checks fail fast (connection refused).
        closedPorts = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            try (ServerSocket s = new ServerSocket(0)) {
                closedPorts.add(s.getLocalPort());
            }
        }
    }

    @AfterContainer
    static void stop() throws Exception {
        h.close();
    }

    /** One generated write: method, path, content type and body. */
    record Call(String method, String path, String contentType, String body) {}

    // Random generation only: the grammar's edge-case combinations alone outnumber the tries.
    @Property(tries = 10_000, shrinking = net.jqwik.api.ShrinkingMode.OFF, edgeCases = net.jqwik.api.EdgeCasesMode.NONE)
    void writes_neverFailOrCorruptState(@ForAll("calls") Call call) throws Exception {
        Snapshot before = Snapshot.take();
        Request.Builder request = new Request.Builder().url(h.adminUrl(call.path()));
        RequestBody body = call.body() == null
                ? null
                : RequestBody.create(
                        call.body().getBytes(java.nio.charset.StandardCharsets.UTF_8),
                        MediaType.parse(call.contentType()));
        request.method(call.method(), body);
        AdminHarness.Answer r = h.call(request);

        assertThat(r.code() / 100).as("%s -> %d %s", call, r.code(), r.text()).isIn(2, 4);
        String endpoint = call.method() + " " + call.path().replaceAll("/api/servers/[^/]+", "/api/servers/{id}");
        Statistics.label("answers").collect(endpoint, r.code() / 100 + "xx");
        // Not vacuous: every write endpoint accepts a fair share of the generated calls.
        Statistics.label("answers").coverage(coverage -> {
            for (String e : List.of(
                    "POST /api/servers",
                    "PUT /api/servers/{id}/weight",
                    "PUT /api/config",
                    "PUT /api/algorithm",
                    "DELETE /api/servers/{id}")) {
                coverage.check(e, "2xx").count(n -> n >= 50);
                coverage.check(e, "4xx").count(n -> n >= 50);
            }
        });
        assertThat(r.json()).as(r.text()).isNotNull().containsKey("success");
        assertThat(r.json().get("success")).isEqualTo(r.code() < 300);
        Snapshot after = Snapshot.take();
        after.assertConsistent();
        if (r.code() >= 400) {
            assertThat(after).as("refused %s changed state: %s", call, r.text()).isEqualTo(before);
            assertThat(r.error()).isNotBlank();
        } else if (call.method().equals("POST")) {
            assertThat(r.code()).isEqualTo(201);
            assertThat(after.servers).hasSize(before.servers.size() + 1);
        } else if (call.method().equals("DELETE")) {
            assertThat(after.servers).hasSize(before.servers.size() - 1);
        }
    }

    /** What the API, the runtime and the balancer hold, compared before and after each call. */
    record Snapshot(List<String> servers, Map<String, Object> config, String strategy, String health) {
        static Snapshot take() {
            List<String> servers = new ArrayList<>();
            for (ServerView v : h.lb.pool().list()) {
                servers.add(
                        v.id() + "=" + v.server().authority() + "/" + v.server().weight());
            }
            ActiveHealthCheck hc = h.lb.activeHealthCheck();
            return new Snapshot(
                    servers,
                    h.runtime.config().toMap(),
                    h.lb.strategy().name(),
                    hc.enabled() + " " + hc.interval() + " " + hc.timeout());
        }

        void assertConsistent() {
            Set<String> ids = new HashSet<>();
            Set<String> authorities = new HashSet<>();
            for (String s : servers) {
                assertThat(ids.add(s.substring(0, s.indexOf('='))))
                        .as("unique id %s", s)
                        .isTrue();
                assertThat(authorities.add(s.substring(s.indexOf('=') + 1, s.indexOf('/'))))
                        .as("unique host:port %s", s)
                        .isTrue();
            }
            assertThat(strategy).isEqualTo(config.get("algorithm"));
            assertThat(health)
                    .isEqualTo(config.get("healthCheckEnabled") + " "
                            + Duration.ofSeconds((Integer) config.get("healthCheckInterval")) + " "
                            + Duration.ofSeconds((Integer) config.get("healthCheckTimeout")));
        }
    }

    // Generators ------------------------------------------------------------------------------------------------

    @Provide
    Arbitrary<Call> calls() {
        Arbitrary<String> ids = Arbitraries.oneOf(
                Arbitraries.of("nope", "srv-00000000", "..", "a.b", "x:y"),
                // An id that exists when the call is made, if any does.
                Arbitraries.integers().between(0, 99).map(i -> {
                    List<ServerView> list = h.lb.pool().list();
                    return list.isEmpty() ? "none" : list.get(i % list.size()).id();
                }));
        Arbitrary<String> contentTypes = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(20, Arbitraries.just("application/json")),
                net.jqwik.api.Tuple.of(2, Arbitraries.just("application/json; charset=utf-8")),
                net.jqwik.api.Tuple.of(
                        1, Arbitraries.of("text/plain", "application/xml", "application/json; charset=latin1")));
        Arbitrary<Map<String, Object>> validServer = Combinators.combine(
                        Arbitraries.of("127.0.0.1", "localhost", "::1", "[::1]"),
                        Arbitraries.of(closedPorts),
                        Arbitraries.integers().between(1, 1000))
                .as((host, port, weight) -> Map.of("host", host, "port", port, "weight", weight));
        Arbitrary<Call> posts = Combinators.combine(contentTypes, bodies(SERVER_FIELDS, validServer))
                .as((type, body) -> new Call("POST", "/api/servers", type, body));
        Arbitrary<Call> weights = Combinators.combine(
                        ids,
                        contentTypes,
                        bodies(
                                List.of("weight"),
                                Arbitraries.integers().between(1, 1000).map(w -> Map.of("weight", w))))
                .as((id, type, body) -> new Call("PUT", "/api/servers/" + id + "/weight", type, body));
        Arbitrary<Call> configs = Combinators.combine(contentTypes, bodies(CONFIG_FIELDS, Arbitraries.just(Map.of())))
                .as((type, body) -> new Call("PUT", "/api/config", type, body));
        Arbitrary<Call> algorithms = Combinators.combine(
                        contentTypes,
                        bodies(
                                List.of("algorithm"),
                                Arbitraries.of(dev.fairload.lb.Strategy.names()).map(a -> Map.of("algorithm", a))))
                .as((type, body) -> new Call("PUT", "/api/algorithm", type, body));
        Arbitrary<Call> deletes = ids.map(id -> new Call("DELETE", "/api/servers/" + id, null, null));
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(8, posts),
                net.jqwik.api.Tuple.of(4, weights),
                net.jqwik.api.Tuple.of(6, configs),
                net.jqwik.api.Tuple.of(3, algorithms),
                net.jqwik.api.Tuple.of(2, deletes));
    }

    /** Bodies: a valid one with a few fields overridden (often still valid), or anything at all. */
    private Arbitrary<String> bodies(List<String> fields, Arbitrary<Map<String, Object>> valid) {
        Arbitrary<String> structured = Combinators.combine(valid, objects(fields))
                .as((base, overrides) -> {
                    Map<String, Object> m = new LinkedHashMap<>(base);
                    int keep = Math.min(overrides.size(), 2);
                    overrides.entrySet().stream().limit(keep).forEach(e -> m.put(e.getKey(), e.getValue()));
                    return m;
                })
                .map(AdminHarness::json);
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(12, structured),
                net.jqwik.api.Tuple.of(3, mutated(structured)),
                net.jqwik.api.Tuple.of(1, Arbitraries.strings().ofMaxLength(40)),
                net.jqwik.api.Tuple.of(
                        1,
                        Arbitraries.of(
                                "",
                                "null",
                                "[]",
                                "{}",
                                "{",
                                "}",
                                "[{}]",
                                "\"x\"",
                                "1",
                                "true",
                                "{\"a\":{\"b\":{\"c\":[1,2,{}]}}}",
                                "[".repeat(100),
                                "{\"host\":\"127.0.0.1\",\"host\":\"127.0.0.1\",\"port\":1}")));
    }

    private Arbitrary<String> mutated(Arbitrary<String> json) {
        return Combinators.combine(
                        json, Arbitraries.integers().between(0, 1000), Arbitraries.chars(), Arbitraries.of(0, 1, 2))
                .as((s, at, c, how) -> {
                    if (s.isEmpty()) {
                        return s;
                    }
                    int i = at % s.length();
                    return switch (how) {
                        case 0 -> s.substring(0, i); // truncated
                        case 1 -> s.substring(0, i) + c + s.substring(i); // inserted
                        default -> s.substring(0, i) + s.substring(i + 1); // deleted
                    };
                });
    }

    private Arbitrary<Map<String, Object>> objects(List<String> fields) {
        Arbitrary<String> unknown = Arbitraries.of("color", "id", "name", "Host", "port ", "");
        Arbitrary<String> keys = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(12, Arbitraries.of(fields)), net.jqwik.api.Tuple.of(1, unknown));
        return Combinators.combine(keys, values())
                .as((k, v) -> (Map.Entry<String, Object>) new java.util.AbstractMap.SimpleEntry<String, Object>(k, v))
                .list()
                .ofMaxSize(6)
                .map(entries -> {
                    Map<String, Object> m = new LinkedHashMap<>();
                    for (Map.Entry<String, Object> e : entries) {
                        m.put(e.getKey(), e.getValue());
                    }
                    return m;
                });
    }

    /** Values for any field: mostly plausible for some field, often of the wrong type or out of range. */
    private Arbitrary<Object> values() {
        Arbitrary<Object> ints = Arbitraries.oneOf(
                Arbitraries.integers().between(-2, 12),
                Arbitraries.of(0, 1, 2, 3, 5, 30, 300, 1000, 1001, 3600, 3601, 8443, 65535, 65536, -1),
                Arbitraries.of(closedPorts).map(p -> p),
                Arbitraries.longs().map(l -> l));
        Arbitrary<Object> strings = Arbitraries.oneOf(
                Arbitraries.of(
                        "127.0.0.1",
                        "localhost",
                        "::1",
                        "[::1]",
                        "example.invalid",
                        "",
                        " ",
                        "a b",
                        "http://x",
                        "x:80",
                        "/health",
                        "/",
                        "no-slash",
                        "round_robin",
                        "least_connections",
                        "weighted",
                        "ip_hash",
                        "random",
                        "power_of_two",
                        "nope",
                        "10.0.0.0/8",
                        "sessionId",
                        "FAIRLOAD_STICKY",
                        "srv-1",
                        "/etc/ssl/cert.pem",
                        "80"),
                Arbitraries.strings().ofMaxLength(20));
        Arbitrary<Object> others = Arbitraries.of(
                true, false, 1.5, 80.0, 1e9, -0.0, List.of(), List.of("10.0.0.0/8"), List.of(1), Map.of("a", 1));
        return Arbitraries.frequencyOf(
                        net.jqwik.api.Tuple.of(6, ints),
                        net.jqwik.api.Tuple.of(5, strings),
                        net.jqwik.api.Tuple.of(3, others))
                .injectNull(0.06);
    }
}
