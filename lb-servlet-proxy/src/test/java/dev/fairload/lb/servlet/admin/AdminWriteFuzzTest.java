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
import java.util.SplittableRandom;
import java.util.TreeMap;
import okhttp3.MediaType;
import okhttp3.Request;
import okhttp3.RequestBody;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Property: whatever body a client sends to a write endpoint, the answer is 2xx or 4xx in the envelope, a refused
 * call changes nothing, an accepted one changes what it says, and the balancer, the runtime and the API always
 * agree (unique ids and addresses, strategy = algorithm, health checks = config). 10,000 generated calls through
 * real HTTP: structured bodies with right and wrong fields, types and ranges, mutated JSON, and garbage.
 *
 * <p>The generator is a seeded {@link SplittableRandom} (the seed is printed and can be fixed with {@code
 * -Dfuzz.seed=N}), so a failure names the call and can be replayed.
 */
class AdminWriteFuzzTest {
    private static final List<String> CONFIG_FIELDS = ProxyConfig.FIELDS;
    private static final List<String> SERVER_FIELDS =
            List.of("host", "port", "weight", "healthCheckPath", "healthCheckInterval", "serverId");

    private static AdminHarness h;
    private static List<Integer> closedPorts;

    private static final int CALLS = 10_000;

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

    @AfterAll
    static void stop() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    /** One generated write: method, path, content type and body. */
    record Call(String method, String path, String contentType, String body) {}

    @Test
    @Timeout(300)
    void writes_neverFailOrCorruptState() throws Exception {
        start();
        long seed = Long.getLong("fuzz.seed", System.nanoTime());
        System.out.println("AdminWriteFuzzTest seed " + seed);
        SplittableRandom random = new SplittableRandom(seed);
        Map<String, int[]> answers = new TreeMap<>();
        for (int i = 0; i < CALLS; i++) {
            Call call = calls(random);
            check(call, answers);
        }
        // Not vacuous: every write endpoint both accepted and refused a fair share of the generated calls.
        for (String e : List.of(
                "POST /api/servers",
                "PUT /api/servers/{id}/weight",
                "PUT /api/config",
                "PUT /api/algorithm",
                "DELETE /api/servers/{id}")) {
            int[] counts = answers.getOrDefault(e, new int[6]);
            assertThat(counts[2])
                    .as("%s accepted (seed %d): %s", e, seed, answers.keySet())
                    .isGreaterThanOrEqualTo(50);
            assertThat(counts[4]).as("%s refused (seed %d)", e, seed).isGreaterThanOrEqualTo(50);
        }
    }

    private static void check(Call call, Map<String, int[]> answers) throws Exception {
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
        answers.computeIfAbsent(endpoint, k -> new int[6])[r.code() / 100]++;
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

    // Generators: weighted choices over a small grammar of right and wrong values. --------------------------------

    private static <T> T pick(SplittableRandom random, List<T> options) {
        return options.get(random.nextInt(options.size()));
    }

    /** Index chosen with the given relative weights. */
    private static int weighted(SplittableRandom random, int... weights) {
        int total = 0;
        for (int w : weights) {
            total += w;
        }
        int r = random.nextInt(total);
        for (int i = 0; i < weights.length; i++) {
            r -= weights[i];
            if (r < 0) {
                return i;
            }
        }
        return weights.length - 1;
    }

    private static Call calls(SplittableRandom random) {
        String type = contentType(random);
        return switch (weighted(random, 8, 4, 6, 3, 2)) {
            case 0 -> new Call("POST", "/api/servers", type, body(random, SERVER_FIELDS, validServer(random)));
            case 1 ->
                new Call(
                        "PUT",
                        "/api/servers/" + id(random) + "/weight",
                        type,
                        body(random, List.of("weight"), Map.of("weight", 1 + random.nextInt(1000))));
            case 2 -> new Call("PUT", "/api/config", type, body(random, CONFIG_FIELDS, Map.of()));
            case 3 ->
                new Call(
                        "PUT",
                        "/api/algorithm",
                        type,
                        body(
                                random,
                                List.of("algorithm"),
                                Map.of("algorithm", pick(random, dev.fairload.lb.Strategy.names()))));
            default -> new Call("DELETE", "/api/servers/" + id(random), null, null);
        };
    }

    /** A made-up id, or one that exists when the call is made, if any does. */
    private static String id(SplittableRandom random) {
        if (random.nextBoolean()) {
            return pick(random, List.of("nope", "srv-00000000", "..", "a.b", "x:y"));
        }
        List<ServerView> list = h.lb.pool().list();
        return list.isEmpty() ? "none" : list.get(random.nextInt(list.size())).id();
    }

    private static String contentType(SplittableRandom random) {
        return switch (weighted(random, 20, 2, 1)) {
            case 0 -> "application/json";
            case 1 -> "application/json; charset=utf-8";
            default -> pick(random, List.of("text/plain", "application/xml", "application/json; charset=latin1"));
        };
    }

    private static Map<String, Object> validServer(SplittableRandom random) {
        return Map.of(
                "host", pick(random, List.of("127.0.0.1", "localhost", "::1", "[::1]")),
                "port", pick(random, closedPorts),
                "weight", 1 + random.nextInt(1000));
    }

    /** A valid body with a few fields overridden (often still valid), a mutated one, or anything at all. */
    private static String body(SplittableRandom random, List<String> fields, Map<String, Object> valid) {
        return switch (weighted(random, 12, 3, 1, 1)) {
            case 0 -> structured(random, fields, valid);
            case 1 -> mutated(random, structured(random, fields, valid));
            case 2 -> randomString(random, 40);
            default ->
                pick(
                        random,
                        List.of(
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
                                "{\"host\":\"127.0.0.1\",\"host\":\"127.0.0.1\",\"port\":1}"));
        };
    }

    private static String structured(SplittableRandom random, List<String> fields, Map<String, Object> valid) {
        Map<String, Object> m = new LinkedHashMap<>(valid);
        int overrides = Math.min(random.nextInt(7), 2);
        for (int i = 0; i < overrides; i++) {
            String key = weighted(random, 12, 1) == 0
                    ? pick(random, fields)
                    : pick(random, List.of("color", "id", "name", "Host", "port ", ""));
            m.put(key, value(random));
        }
        return AdminHarness.json(m);
    }

    private static String mutated(SplittableRandom random, String s) {
        if (s.isEmpty()) {
            return s;
        }
        int i = random.nextInt(s.length());
        char c = (char) random.nextInt(0x20, 0x7f);
        return switch (random.nextInt(3)) {
            case 0 -> s.substring(0, i); // truncated
            case 1 -> s.substring(0, i) + c + s.substring(i); // inserted
            default -> s.substring(0, i) + s.substring(i + 1); // deleted
        };
    }

    private static String randomString(SplittableRandom random, int maxLength) {
        StringBuilder b = new StringBuilder();
        int n = random.nextInt(maxLength + 1);
        for (int i = 0; i < n; i++) {
            b.append((char) (random.nextInt(8) == 0 ? random.nextInt(0x80, 0x800) : random.nextInt(0x20, 0x7f)));
        }
        return b.toString();
    }

    /** Values for any field: mostly plausible for some field, often of the wrong type or out of range. */
    private static Object value(SplittableRandom random) {
        if (random.nextInt(100) < 6) {
            return null;
        }
        return switch (weighted(random, 6, 5, 3)) {
            case 0 ->
                switch (random.nextInt(4)) {
                    case 0 -> random.nextInt(-2, 13);
                    case 1 ->
                        pick(random, List.of(0, 1, 2, 3, 5, 30, 300, 1000, 1001, 3600, 3601, 8443, 65535, 65536, -1));
                    case 2 -> pick(random, closedPorts);
                    default -> random.nextLong();
                };
            case 1 ->
                random.nextBoolean()
                        ? pick(
                                random,
                                List.of(
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
                                        "80"))
                        : randomString(random, 20);
            default ->
                pick(
                        random,
                        List.of(
                                true,
                                false,
                                1.5,
                                80.0,
                                1e9,
                                -0.0,
                                List.of(),
                                List.of("10.0.0.0/8"),
                                List.of(1),
                                Map.of("a", 1)));
        };
    }
}
