package dev.fairload.lb.servlet.admin.internal;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.ServerView;
import dev.fairload.lb.health.ActiveHealthCheck;
import dev.fairload.lb.servlet.ProxyConfig;
import dev.fairload.lb.servlet.ProxyRuntime;
import dev.fairload.lb.servlet.tls.CertificateInfo;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin REST API, independent of the servlet API: routes a {@link Call} to its handler and returns an {@link
 * Answer} in the envelope {@code {"success": true, "data": ...}} or {@code {"success": false, "error": "..."}}.
 *
 * <p>Order of checks for every call: path (404), token unless {@code GET /api/health} (401), method (405 with
 * {@code Allow}), then for changes: cross-site (403), content type (415), body size (413), JSON (400), fields
 * (400), state (404, 409). A client's mistake never yields 500; an unexpected failure yields 500 with a fixed text
 * and is logged with its stack trace.
 *
 * <p>Changes: every change (add, remove, weight, config, algorithm) runs under one lock, is applied to the running
 * balancer and runtime at once, and is written to the state file (if any) before the answer. If the write fails
 * the change is undone and the answer is 500. Reads take no lock.
 *
 * <p>Thread-safe.
 */
public final class AdminApi {
    private static final Logger log = LoggerFactory.getLogger(AdminApi.class);

    public static final int MAX_BODY_BYTES = 64 * 1024;

    /** Longest a POST /api/servers waits for the new server's first health check. */
    static final Duration MAX_FIRST_CHECK_WAIT = Duration.ofSeconds(10);

    private static final Pattern SERVER = Pattern.compile("/api/servers/([A-Za-z0-9._:-]{1,64})");
    private static final Pattern SERVER_WEIGHT = Pattern.compile("/api/servers/([A-Za-z0-9._:-]{1,64})/weight");
    private static final Pattern SERVER_HEALTH = Pattern.compile("/api/servers/([A-Za-z0-9._:-]{1,64})/health");
    private static final Pattern SERVER_DRAINING = Pattern.compile("/api/servers/([A-Za-z0-9._:-]{1,64})/draining");
    private static final Set<String> POST_SERVER_FIELDS = Set.of(
            "host", "port", "weight", "healthCheckPath", "healthCheckInterval", "healthCheckFastInterval", "serverId");
    /**
     * Fields {@code GET /api/config} shows beside the configuration's own, which {@code PUT} cannot set: ignored when
     * sent, so that a configuration read, edited and sent back is accepted.
     */
    private static final Set<String> READ_ONLY_CONFIG_FIELDS = Set.of("tlsCertificates");

    private final ProxyRuntime runtime;
    private final LoadBalancer lb;
    private final Access access;
    private final StateFile stateFile;
    private final RecentRequests recent;
    private final Duration firstCheckGrace;
    private final Supplier<List<CertificateInfo>> certificates;
    private final MetricsHistory history;
    private final Object changes = new Object();

    /**
     * @param certificates the TLS certificates in use, shown as {@code tlsCertificates} of the configuration; read on
     *     every call that shows it
     * @param history the samples, events and failed requests of the status page's endpoints
     */
    public AdminApi(
            ProxyRuntime runtime,
            Access access,
            StateFile stateFile,
            RecentRequests recent,
            Duration firstCheckGrace,
            Supplier<List<CertificateInfo>> certificates,
            MetricsHistory history) {
        this.history = history;
        this.runtime = runtime;
        this.lb = runtime.loadBalancer();
        this.access = access;
        this.stateFile = stateFile;
        this.recent = recent;
        this.firstCheckGrace = firstCheckGrace;
        this.certificates = certificates;
    }

    /** One HTTP call, as the servlet saw it. */
    public interface Call {
        String method();

        /** The path within the context, still percent-encoded, without the query. */
        String path();

        /** The raw query string, or null. */
        String query();

        /** A request header by (case-insensitive) name, or null. */
        String header(String name);

        /** The declared body length, or -1 if unknown. */
        long contentLength();

        /**
         * Reads the body, at most {@code limit + 1} bytes (so a longer body is seen to be longer).
         *
         * @throws IOException if the client fails to send it
         */
        byte[] body(int limit) throws IOException;
    }

    /** What to answer: a status, headers and a JSON body. */
    public record Answer(int status, Map<String, String> headers, byte[] body) {}

    public Answer handle(Call call) {
        try {
            return route(call);
        } catch (ApiException e) {
            return error(e.status(), e.getMessage(), e.headers());
        } catch (IllegalArgumentException e) {
            // Validation in the builders and the balancer: the message names the field and the allowed values.
            return error(400, e.getMessage(), Map.of());
        } catch (RuntimeException e) {
            log.warn("admin API: {} {} failed", call.method(), safePath(call.path()), e);
            return error(500, "internal error", Map.of());
        }
    }

    // Routing ---------------------------------------------------------------------------------------------------

    private Answer route(Call call) {
        String path = call.path();
        String method = call.method();
        if (path.equals("/api/health")) {
            allow(method, "GET");
            return health();
        }
        Matcher m;
        Route route;
        if (path.equals("/api/servers")) {
            route = new Route(path, null, "GET", "POST");
        } else if ((m = SERVER.matcher(path)).matches()) {
            route = new Route("/api/servers/{id}", m.group(1), "GET", "DELETE");
        } else if ((m = SERVER_WEIGHT.matcher(path)).matches()) {
            route = new Route("/api/servers/{id}/weight", m.group(1), "PUT");
        } else if ((m = SERVER_HEALTH.matcher(path)).matches()) {
            route = new Route("/api/servers/{id}/health", m.group(1), "GET");
        } else if (path.equals("/api/config")) {
            route = new Route(path, null, "GET", "PUT");
        } else if (path.equals("/api/algorithms")) {
            route = new Route(path, null, "GET");
        } else if (path.equals("/api/algorithm")) {
            route = new Route(path, null, "PUT");
        } else if (path.equals("/api/metrics")
                || path.equals("/api/metrics/servers")
                || path.equals("/api/metrics/requests")) {
            route = new Route(path, null, "GET");
        } else if (path.equals("/api/metrics/history") || path.equals("/api/events")) {
            route = new Route(path, null, "GET");
        } else if ((m = SERVER_DRAINING.matcher(path)).matches()) {
            route = new Route("/api/servers/{id}/draining", m.group(1), "PUT");
        } else {
            access.authenticate(call.header("Authorization"));
            throw new ApiException(404, "path: no such endpoint (see GET /api/health, /api/servers, /api/config)");
        }
        access.authenticate(call.header("Authorization"));
        allow(method, route.methods);
        if (!method.equals("GET")) {
            Access.refuseCrossSite(call::header);
        }
        String id = route.id;
        String p = route.template;
        return switch (method + " " + p) {
            case "GET /api/servers" -> ok(200, servers());
            case "POST /api/servers" -> addServer(body(call));
            case "GET /api/servers/{id}" -> ok(200, serverView(require(id)));
            case "DELETE /api/servers/{id}" -> removeServer(id);
            case "PUT /api/servers/{id}/weight" -> setWeight(id, body(call));
            case "GET /api/servers/{id}/health" -> ok(200, Views.health(healthReport(id)));
            case "GET /api/config" -> ok(200, configView(runtime.config()));
            case "PUT /api/config" -> updateConfig(body(call));
            case "GET /api/algorithms" ->
                ok(200, Views.algorithms(runtime.config().algorithm()));
            case "PUT /api/algorithm" -> setAlgorithm(body(call));
            case "GET /api/metrics" -> ok(200, metrics());
            case "GET /api/metrics/servers" ->
                ok(200, Views.withHealth(Views.serverMetrics(lb.pool().list(), recent, Instant.now()), lb));
            case "GET /api/metrics/history" -> ok(200, Views.history(history.samples(after(call.query()))));
            case "GET /api/events" ->
                ok(200, Views.events(history.events(after(call.query())), history.failedRequests()));
            case "PUT /api/servers/{id}/draining" -> setDraining(id, body(call));
            case "GET /api/metrics/requests" -> ok(200, Views.requests(recent, limit(call.query())));
            default -> throw new IllegalStateException("unrouted " + method + " " + p);
        };
    }

    private record Route(String template, String id, String... methods) {}

    private static void allow(String method, String... methods) {
        for (String m : methods) {
            if (m.equals(method)) {
                return;
            }
        }
        String allowed = String.join(", ", methods);
        throw new ApiException(
                405, "method: " + safeMethod(method) + " (expected: " + allowed + ")", Map.of("Allow", allowed));
    }

    // Reads -----------------------------------------------------------------------------------------------------

    private Answer health() {
        Views.Counts counts = Views.Counts.of(lb.pool().list());
        Map<String, Object> data = Views.overallHealth(counts, Duration.between(runtime.startedAt(), Instant.now()));
        // The brief's shape: the fields at the top level, next to "success".
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("success", counts.healthy() > 0);
        body.putAll(data);
        return new Answer(counts.healthy() > 0 ? 200 : 503, Map.of(), Json.write(body));
    }

    private List<Object> servers() {
        ProxyConfig config = runtime.config();
        ActiveHealthCheck check = lb.activeHealthCheck();
        List<Object> out = new ArrayList<>();
        for (ServerView v : lb.pool().list()) {
            out.add(Views.server(v, config, check));
        }
        return out;
    }

    private Map<String, Object> serverView(ServerView v) {
        return Views.server(v, runtime.config(), lb.activeHealthCheck());
    }

    private ServerView require(String id) {
        return lb.pool().get(id).orElseThrow(() -> notFound(id));
    }

    private dev.fairload.lb.health.HealthReport healthReport(String id) {
        try {
            return lb.health(id);
        } catch (NoSuchElementException e) {
            throw notFound(id);
        }
    }

    private Map<String, Object> metrics() {
        Views.Counts counts = Views.Counts.of(lb.pool().list());
        return Views.metrics(lb, runtime.config(), counts, Duration.between(runtime.startedAt(), Instant.now()));
    }

    private int limit(String query) {
        int limit = recent.capacity();
        if (query == null || query.isEmpty()) {
            return limit;
        }
        for (String pair : query.split("&")) {
            if (pair.startsWith("limit=")) {
                String v = pair.substring(6);
                try {
                    limit = Integer.parseInt(v);
                } catch (NumberFormatException e) {
                    limit = -1;
                }
                if (limit < 1 || limit > recent.capacity()) {
                    throw new ApiException(400, "limit: " + shorten(v) + " (expected: 1-" + recent.capacity() + ")");
                }
            }
        }
        return limit;
    }

    /** The {@code after} query parameter: a sequence number, 0 (the default) for everything kept. */
    private static long after(String query) {
        long after = 0;
        if (query == null || query.isEmpty()) {
            return after;
        }
        for (String pair : query.split("&")) {
            if (pair.startsWith("after=")) {
                String v = pair.substring(6);
                try {
                    after = Long.parseLong(v);
                } catch (NumberFormatException e) {
                    after = -1;
                }
                if (after < 0) {
                    throw new ApiException(400, "after: " + shorten(v) + " (expected: an integer 0 or more)");
                }
            }
        }
        return after;
    }

    // Changes ---------------------------------------------------------------------------------------------------

    /**
     * Drains a server (no new requests, in-flight ones finish) or ends its drain. Not written to the state file: a
     * restarted proxy starts with no server draining.
     */
    private Answer setDraining(String id, Map<String, Object> body) {
        unknownFields(body, Set.of("draining"));
        Object v = body.get("draining");
        if (!(v instanceof Boolean draining)) {
            throw new ApiException(
                    400, "draining: " + (v == null ? "missing" : Json.typeName(v)) + " (expected: true or false)");
        }
        ServerView view;
        synchronized (changes) {
            try {
                view = draining ? lb.pool().drain(id) : lb.pool().undrain(id);
            } catch (NoSuchElementException e) {
                throw notFound(id);
            }
        }
        return ok(200, serverView(view));
    }

    private Answer addServer(Map<String, Object> body) {
        unknownFields(body, POST_SERVER_FIELDS);
        String host = requiredString(body, "host");
        int port = requiredInt(body, "port", 1, 65535);
        Server.Builder b = Server.builder(host, port);
        if (body.containsKey("weight")) {
            b.weight(requiredInt(body, "weight", Server.MIN_WEIGHT, Server.MAX_WEIGHT));
        }
        if (body.get("healthCheckPath") != null) {
            b.healthCheckPath(requiredString(body, "healthCheckPath"));
        }
        if (body.get("healthCheckInterval") != null) {
            b.healthCheckInterval(Duration.ofSeconds(requiredInt(body, "healthCheckInterval", 1, 3600)));
        }
        if (body.get("healthCheckFastInterval") != null) {
            b.healthCheckFastInterval(Duration.ofSeconds(requiredInt(body, "healthCheckFastInterval", 1, 3600)));
        }
        if (body.get("serverId") != null) {
            b.id(requiredString(body, "serverId"));
        }
        Server server = b.build();
        refuseNonRoutable(server.host());
        ServerView added;
        synchronized (changes) {
            try {
                added = lb.pool().add(server);
            } catch (IllegalStateException e) {
                throw new ApiException(409, e.getMessage());
            }
            persist(() -> lb.pool().remove(server.id()));
        }
        // Answer once the first health check decided the status (at once when checks are off), but hold the
        // client's request no longer than MAX_FIRST_CHECK_WAIT whatever the configured check timeout.
        Duration wait = lb.activeHealthCheck().timeout().plus(firstCheckGrace);
        if (wait.compareTo(MAX_FIRST_CHECK_WAIT) > 0) {
            wait = MAX_FIRST_CHECK_WAIT;
        }
        try {
            lb.pool().firstCheck(server.id()).get(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            log.debug("first health check of {} still running; answering with its current status", server.id());
        } catch (ExecutionException e) {
            log.debug("first health check of {} failed", server.id(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        ServerView now = lb.pool().get(server.id()).orElse(added);
        return new Answer(
                201, Map.of("Location", "/api/servers/" + server.id()), Json.write(envelope(serverView(now))));
    }

    /**
     * Refuses an address literal that names no remote backend: link-local addresses (169.254.0.0/16, fe80::/10,
     * where cloud metadata services answer, so a server added there would turn the proxy into a way to reach them)
     * and the unspecified address (0.0.0.0, ::). Host names are not resolved here.
     */
    private static void refuseNonRoutable(String host) {
        boolean literal = host.indexOf(':') >= 0 || host.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9'));
        if (!literal) {
            return;
        }
        InetAddress address;
        try {
            address = InetAddress.getByName(host); // a literal: parsed, never looked up
        } catch (UnknownHostException e) {
            return; // not a literal after all; the pool's own validation has the last word
        }
        if (address.isLinkLocalAddress()) {
            throw new ApiException(
                    400,
                    "host: '" + host
                            + "' is a link-local address (expected: a backend's address, not 169.254.0.0/16 or fe80::/10)");
        }
        if (address.isAnyLocalAddress()) {
            throw new ApiException(
                    400, "host: '" + host + "' is the unspecified address (expected: a backend's address)");
        }
    }

    private Answer removeServer(String id) {
        synchronized (changes) {
            java.util.Optional<String> source =
                    lb.pool().get(id).flatMap(v -> v.server().source());
            if (source.isPresent()) {
                throw new ApiException(
                        409,
                        "serverId: '" + id + "' comes from discovery (" + source.get()
                                + ") and follows it; it cannot be removed by hand (its weight can be changed)");
            }
            Server removed;
            try {
                removed = lb.pool().remove(id);
            } catch (NoSuchElementException e) {
                throw notFound(id);
            }
            persist(() -> lb.pool().add(removed));
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("success", true);
        body.put("message", "Server removed successfully");
        return new Answer(200, Map.of(), Json.write(body));
    }

    private Answer setWeight(String id, Map<String, Object> body) {
        unknownFields(body, Set.of("weight"));
        int weight = requiredInt(body, "weight", Server.MIN_WEIGHT, Server.MAX_WEIGHT);
        ServerView view;
        synchronized (changes) {
            int before = require(id).server().weight();
            try {
                view = lb.pool().setWeight(id, weight);
            } catch (NoSuchElementException e) {
                throw notFound(id);
            }
            persist(() -> lb.pool().setWeight(id, before));
        }
        return ok(200, serverView(view));
    }

    private Answer updateConfig(Map<String, Object> request) {
        Map<String, Object> body = new LinkedHashMap<>(request);
        body.keySet().removeAll(READ_ONLY_CONFIG_FIELDS);
        ProxyConfig next;
        synchronized (changes) {
            ProxyConfig previous = runtime.config();
            next = previous.toBuilder().setAll(body).build();
            apply(previous, next);
        }
        return ok(200, configView(next));
    }

    private Answer setAlgorithm(Map<String, Object> body) {
        unknownFields(body, Set.of("algorithm"));
        String name = requiredString(body, "algorithm");
        ProxyConfig next;
        synchronized (changes) {
            ProxyConfig previous = runtime.config();
            next = previous.toBuilder().algorithm(name).build();
            apply(previous, next);
        }
        return ok(200, configView(next));
    }

    /**
     * Puts {@code next} in force: first the health-check settings (the balancer validates them against every
     * server and changes nothing if it refuses), then the runtime, then the state file. Caller holds the lock.
     */
    private void apply(ProxyConfig previous, ProxyConfig next) {
        ActiveHealthCheck before = lb.activeHealthCheck();
        ActiveHealthCheck after = HealthSync.derive(next, before);
        boolean healthChanged = !HealthSync.same(before, after);
        if (healthChanged) {
            lb.activeHealthCheck(after);
        }
        try {
            runtime.update(next);
        } catch (RuntimeException e) {
            if (healthChanged) {
                lb.activeHealthCheck(before);
            }
            throw e;
        }
        persist(() -> {
            runtime.update(previous);
            if (healthChanged) {
                lb.activeHealthCheck(before);
            }
        });
    }

    /** The configuration as the API shows it: its fields, then the TLS certificates in use. */
    private Map<String, Object> configView(ProxyConfig config) {
        List<CertificateInfo> tls;
        try {
            tls = certificates.get();
        } catch (RuntimeException e) {
            // The configuration is still worth showing (and a PUT was applied): the list alone is left out.
            log.warn("admin API: the TLS certificates in use could not be listed", e);
            tls = List.of();
        }
        return Views.config(config, tls);
    }

    /** Writes the state file if there is one; if that fails, runs {@code undo} and answers 500. */
    private void persist(Runnable undo) {
        if (stateFile == null) {
            return;
        }
        try {
            stateFile.save(currentState());
        } catch (IOException | RuntimeException e) {
            log.error("cannot write the state file {}; the change is undone", stateFile.path(), e);
            try {
                undo.run();
            } catch (RuntimeException undoFailure) {
                log.error("undoing the change failed too", undoFailure);
            }
            throw new ApiException(500, "state file could not be written; the change was not applied");
        }
    }

    /** The state to persist: the configuration and servers in force. Caller holds the lock. */
    public StateFile.State currentState() {
        List<Server> servers = new ArrayList<>();
        for (ServerView v : lb.pool().list()) {
            if (v.server().source().isEmpty()) { // discovered servers come back from their source
                servers.add(v.server());
            }
        }
        return new StateFile.State(runtime.config(), servers);
    }

    /** The lock changes are made under, for callers that change state outside the API (loading at start). */
    public Object changeLock() {
        return changes;
    }

    // Body and fields -------------------------------------------------------------------------------------------

    private static Map<String, Object> body(Call call) {
        String type = call.header("Content-Type");
        if (!isJson(type)) {
            throw new ApiException(
                    415,
                    "Content-Type: " + (type == null ? "missing" : shorten(type)) + " (expected: application/json)");
        }
        if (call.contentLength() > MAX_BODY_BYTES) {
            throw new ApiException(413, "body: " + call.contentLength() + " bytes (expected: at most 65536)");
        }
        byte[] bytes;
        try {
            bytes = call.body(MAX_BODY_BYTES);
        } catch (IOException e) {
            throw new ApiException(400, "body: could not be read");
        }
        if (bytes.length > MAX_BODY_BYTES) {
            throw new ApiException(413, "body: more than 65536 bytes");
        }
        try {
            return Json.parseObject(bytes);
        } catch (Json.MalformedJsonException e) {
            throw new ApiException(400, e.getMessage());
        }
    }

    /** {@code application/json}, optionally with {@code charset=utf-8}; any other charset or type is refused. */
    static boolean isJson(String contentType) {
        if (contentType == null) {
            return false;
        }
        String[] parts = contentType.split(";");
        if (!parts[0].strip().equalsIgnoreCase("application/json")) {
            return false;
        }
        for (int i = 1; i < parts.length; i++) {
            String param = parts[i].strip().toLowerCase(Locale.ROOT);
            if (param.isEmpty()) {
                continue;
            }
            if (!param.startsWith("charset=")) {
                return false;
            }
            String charset = param.substring(8).replace("\"", "");
            if (!charset.equals("utf-8") && !charset.equals("utf8")) {
                return false;
            }
        }
        return true;
    }

    private static void unknownFields(Map<String, Object> body, Set<String> known) {
        for (String key : body.keySet()) {
            if (!known.contains(key)) {
                throw new ApiException(
                        400,
                        fieldName(key) + ": unknown field (expected: "
                                + String.join(", ", known.stream().sorted().toList()) + ")");
            }
        }
    }

    private static String requiredString(Map<String, Object> body, String field) {
        Object v = body.get(field);
        if (v == null) {
            throw new ApiException(400, field + ": missing (expected: a string)");
        }
        if (!(v instanceof String s)) {
            throw new ApiException(400, field + ": " + Json.typeName(v) + " (expected: a string)");
        }
        return s;
    }

    private static int requiredInt(Map<String, Object> body, String field, int min, int max) {
        Object v = body.get(field);
        String expected = "an integer " + min + "-" + max;
        if (v == null) {
            throw new ApiException(400, field + ": missing (expected: " + expected + ")");
        }
        if (v instanceof Long l) {
            if (l < min || l > max) {
                throw new ApiException(400, field + ": " + l + " (expected: " + min + "-" + max + ")");
            }
            return l.intValue();
        }
        if (v instanceof java.math.BigInteger) {
            throw new ApiException(400, field + ": out of range (expected: " + min + "-" + max + ")");
        }
        String shown = v instanceof String s
                ? "'" + shorten(s) + "'"
                : v instanceof Double d ? d.toString() : Json.typeName(v);
        throw new ApiException(400, field + ": " + shown + " (expected: " + expected + ")");
    }

    private static ApiException notFound(String id) {
        return new ApiException(404, "serverId: '" + id + "' (no such server)");
    }

    // Envelopes -------------------------------------------------------------------------------------------------

    private static Answer ok(int status, Object data) {
        return new Answer(status, Map.of(), Json.write(envelope(data)));
    }

    private static Map<String, Object> envelope(Object data) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("success", true);
        body.put("data", data);
        return body;
    }

    public static Answer error(int status, String message, Map<String, String> headers) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("success", false);
        body.put("error", message);
        return new Answer(status, headers, Json.write(body));
    }

    private static String fieldName(String key) {
        return key.length() <= 64 && key.chars().allMatch(c -> c > ' ' && c < 127) ? key : "(field name not shown)";
    }

    private static String shorten(String s) {
        String printable = s.chars().allMatch(c -> c >= ' ' && c < 127) ? s : "(not printable)";
        return printable.length() <= 64 ? printable : printable.substring(0, 64) + "...";
    }

    private static String safeMethod(String method) {
        return method.length() <= 16 && method.chars().allMatch(Character::isLetter) ? method : "(not shown)";
    }

    private static String safePath(String path) {
        return shorten(path);
    }
}
