package dev.fairload.lb.servlet.admin.internal;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.MetricsSnapshot;
import dev.fairload.lb.ServerStatus;
import dev.fairload.lb.ServerView;
import dev.fairload.lb.Strategy;
import dev.fairload.lb.health.ActiveHealthCheck;
import dev.fairload.lb.health.HealthReport;
import dev.fairload.lb.servlet.ProxyConfig;
import dev.fairload.lb.servlet.ProxyRuntime;
import dev.fairload.lb.servlet.tls.CertificateInfo;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The JSON shapes of the admin API (see {@code docs/admin-api.md}), as ordered maps. Stateless. */
final class Views {
    /** Window for per-server request rates computed from the recent requests. */
    static final Duration RATE_WINDOW = Duration.ofSeconds(10);

    private Views() {}

    static Map<String, Object> server(ServerView v, ProxyConfig config, ActiveHealthCheck check) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("serverId", v.id());
        m.put("id", v.id());
        m.put("host", v.server().host());
        m.put("port", v.server().port());
        m.put("weight", v.server().weight());
        m.put("effectiveWeight", v.effectiveWeight());
        m.put("status", v.status().jsonName());
        m.put("activeConnections", v.inFlight());
        m.put("totalRequests", v.totalRequests());
        m.put("failedRequests", v.failures());
        m.put("responseTime", millis(v.averageResponseTime()));
        m.put("lastHealthCheck", iso(v.lastHealthCheck()));
        m.put("healthCheckPath", v.server().healthCheckPath().orElse(check.path()));
        m.put(
                "healthCheckInterval",
                v.server().healthCheckInterval().map(Duration::toSeconds).orElse((long) config.healthCheckInterval()));
        m.put(
                "healthCheckFastInterval",
                v.server().healthCheckFastInterval().map(Duration::toSeconds).orElse((long)
                        config.healthCheckFastInterval()));
        m.put("addedAt", iso(v.server().addedAt()));
        m.put("lastSeen", iso(v.lastSeen()));
        m.put("source", v.server().source().orElse("api"));
        m.put("zone", v.server().zone().orElse(null));
        return m;
    }

    static Map<String, Object> health(HealthReport r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("serverId", r.serverId());
        m.put("status", r.status().jsonName());
        m.put("activeChecked", r.activeChecked());
        m.put("lastHealthCheck", iso(r.lastHealthCheck()));
        m.put("lastCheckDuration", millis(r.lastCheckDuration()));
        m.put("consecutiveSuccesses", r.consecutiveSuccesses());
        m.put("consecutiveFailures", r.consecutiveFailures());
        m.put("lastError", r.lastError());
        m.put("ejected", r.ejected());
        m.put("ejections", r.ejections());
        m.put("ejectedUntil", iso(r.ejectedUntil()));
        m.put("circuitState", r.circuitState());
        return m;
    }

    /** The configuration's fields, then {@code tlsCertificates}: public facts only, never key material. */
    static Map<String, Object> config(ProxyConfig config, List<CertificateInfo> certificates) {
        Map<String, Object> m = new LinkedHashMap<>(config.toMap());
        List<Object> tls = new ArrayList<>(certificates.size());
        for (CertificateInfo info : certificates) {
            tls.add(info.toMap());
        }
        m.put("tlsCertificates", tls);
        return m;
    }

    static Map<String, Object> algorithms(String current) {
        List<Object> list = new ArrayList<>();
        for (Strategy s : Strategy.all()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", s.name());
            m.put("description", s.description());
            m.put("current", s.name().equals(current));
            list.add(m);
        }
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("current", current);
        data.put("algorithms", list);
        return data;
    }

    /** Counts for GET /api/health and GET /api/metrics: total, healthy, and the rest. */
    record Counts(int total, int healthy) {
        int unhealthy() {
            return total - healthy;
        }

        static Counts of(List<ServerView> views) {
            int healthy = 0;
            for (ServerView v : views) {
                if (v.status() == ServerStatus.HEALTHY) {
                    healthy++;
                }
            }
            return new Counts(views.size(), healthy);
        }
    }

    static Map<String, Object> overallHealth(Counts counts, Duration uptime) {
        String status;
        if (counts.healthy() == 0) {
            status = "unhealthy";
        } else if (counts.healthy() < counts.total()) {
            status = "degraded";
        } else {
            status = "healthy";
        }
        Map<String, Object> servers = new LinkedHashMap<>();
        servers.put("total", counts.total());
        servers.put("healthy", counts.healthy());
        servers.put("unhealthy", counts.unhealthy());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", status);
        m.put("servers", servers);
        m.put("uptime", uptime(uptime));
        m.put("uptimeSeconds", uptime.toSeconds());
        m.put("timestamp", iso(Instant.now()));
        return m;
    }

    static Map<String, Object> metrics(LoadBalancer lb, ProxyConfig config, Counts counts, Duration uptime) {
        MetricsSnapshot s = lb.metrics();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("totalRequests", s.totalRequests());
        m.put("failedRequests", s.failedRequests());
        m.put("errorRate", s.totalRequests() == 0 ? 0.0 : round3((double) s.failedRequests() / s.totalRequests()));
        m.put("requestsPerSecond", round3(s.requestsPerSecond()));
        m.put("averageResponseTime", millis(s.averageResponseTime()));
        Map<String, Object> percentiles = new LinkedHashMap<>();
        percentiles.put("p50", millis(s.p50()));
        percentiles.put("p95", millis(s.p95()));
        percentiles.put("p99", millis(s.p99()));
        m.put("responseTimePercentiles", percentiles);
        m.put("activeConnections", s.inFlight());
        m.put("activeServers", counts.healthy());
        m.put("unhealthyServers", counts.unhealthy());
        m.put("totalServers", counts.total());
        m.put("algorithm", config.algorithm());
        m.put("uptime", uptime(uptime));
        m.put("uptimeSeconds", uptime.toSeconds());
        m.put("retries", s.retries());
        m.put("failovers", s.failovers());
        m.put("noServerAvailable", s.noServerAvailable());
        m.put("panicPicks", s.panicPicks());
        m.put("ejections", s.ejections());
        m.put("activeSessions", s.activeSessions());
        m.put("responsesByStatusClass", byClass(s.responsesByClass()));
        return m;
    }

    static List<Object> serverMetrics(List<ServerView> views, RecentRequests recentRequests, Instant now) {
        // Rates and percentiles come from the recent-requests ring: the last 10 s, or the part of it the ring
        // still covers when it has wrapped around (then the rate is over that shorter span).
        List<ProxyRuntime.Exchange> recent = recentRequests.recent(recentRequests.capacity());
        Instant windowStart = now.minus(RATE_WINDOW);
        boolean ringFull = recentRequests.total() > recentRequests.capacity();
        Map<String, List<Long>> latencies = new HashMap<>();
        Instant oldest = now;
        for (ProxyRuntime.Exchange e : recent) {
            if (e.timestamp().isBefore(oldest)) {
                oldest = e.timestamp();
            }
            if (e.serverId() != null && !e.timestamp().isBefore(windowStart)) {
                latencies.computeIfAbsent(e.serverId(), k -> new ArrayList<>()).add(e.durationNanos());
            }
        }
        Duration span = ringFull && oldest.isAfter(windowStart) ? Duration.between(oldest, now) : RATE_WINDOW;
        double spanSeconds = Math.max(span.toMillis(), 1) / 1000.0;
        List<Object> out = new ArrayList<>();
        for (ServerView v : views) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("serverId", v.id());
            m.put("host", v.server().host());
            m.put("port", v.server().port());
            m.put("status", v.status().jsonName());
            m.put("weight", v.server().weight());
            m.put("effectiveWeight", v.effectiveWeight());
            m.put("activeConnections", v.inFlight());
            m.put("totalRequests", v.totalRequests());
            m.put("failedRequests", v.failures());
            m.put("errorRate", v.totalRequests() == 0 ? 0.0 : round3((double) v.failures() / v.totalRequests()));
            List<Long> l = latencies.getOrDefault(v.id(), List.of());
            m.put("requestsPerSecond", round3(l.size() / spanSeconds));
            m.put("averageResponseTime", millis(v.averageResponseTime()));
            m.put("lastResponseTime", millis(v.lastResponseTime()));
            long[] sorted = l.stream().mapToLong(Long::longValue).sorted().toArray();
            Map<String, Object> percentiles = new LinkedHashMap<>();
            percentiles.put("p50", percentile(sorted, 0.50));
            percentiles.put("p95", percentile(sorted, 0.95));
            percentiles.put("p99", percentile(sorted, 0.99));
            m.put("recentResponseTimePercentiles", percentiles);
            m.put("lastSeen", iso(v.lastSeen()));
            m.put("lastHealthCheck", iso(v.lastHealthCheck()));
            out.add(m);
        }
        return out;
    }

    static Map<String, Object> requests(RecentRequests recent, int limit) {
        List<Object> list = new ArrayList<>();
        for (ProxyRuntime.Exchange e : recent.recent(limit)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("method", e.method());
            m.put("path", e.path());
            m.put("serverId", e.serverId());
            m.put("status", e.status());
            m.put("responseTime", round3(e.durationNanos() / 1e6));
            m.put("timestamp", iso(e.timestamp()));
            list.add(m);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("capacity", recent.capacity());
        m.put("total", recent.total());
        m.put("countsByStatusClass", recent.countsByClass());
        m.put("requests", list);
        return m;
    }

    /**
     * Adds each server's last health-check error, check duration and ejection end to the entries of {@link
     * #serverMetrics} (a server removed meanwhile keeps its entry without them).
     */
    static List<Object> withHealth(List<Object> entries, LoadBalancer lb) {
        for (Object o : entries) {
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) o;
            HealthReport r;
            try {
                r = lb.health((String) m.get("serverId"));
            } catch (java.util.NoSuchElementException e) {
                continue;
            }
            m.put("lastCheckDuration", millis(r.lastCheckDuration()));
            m.put("lastHealthError", r.lastError());
            m.put("ejected", r.ejected());
            m.put("ejectedUntil", iso(r.ejectedUntil()));
        }
        return entries;
    }

    static Map<String, Object> history(List<MetricsHistory.Sample> samples) {
        List<Object> list = new ArrayList<>(samples.size());
        for (MetricsHistory.Sample s : samples) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("seq", s.seq());
            m.put("timestamp", s.timestamp().toString());
            m.put("requests", s.requests());
            m.put("failedRequests", s.failedRequests());
            m.put("requestsPerSecond", s.requestsPerSecond());
            m.put("errorRate", s.errorRate());
            m.put("p50", s.p50());
            m.put("p99", s.p99());
            m.put("activeConnections", s.activeConnections());
            list.add(m);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("intervalSeconds", MetricsHistory.INTERVAL_SECONDS);
        m.put("capacity", MetricsHistory.SAMPLES);
        m.put("samples", list);
        return m;
    }

    static Map<String, Object> events(List<MetricsHistory.Event> events, List<ProxyRuntime.Exchange> failed) {
        List<Object> list = new ArrayList<>(events.size());
        for (MetricsHistory.Event e : events) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("seq", e.seq());
            m.put("timestamp", e.timestamp().toString());
            m.put("type", e.type());
            m.put("serverId", e.serverId());
            m.put("address", e.address());
            m.put("from", e.from());
            m.put("to", e.to());
            m.put("reason", e.reason());
            list.add(m);
        }
        List<Object> requests = new ArrayList<>(failed.size());
        for (ProxyRuntime.Exchange e : failed) {
            requests.add(exchange(e));
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("events", list);
        m.put("failedRequests", requests);
        return m;
    }

    private static Map<String, Object> exchange(ProxyRuntime.Exchange e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("method", e.method());
        m.put("path", e.path());
        m.put("serverId", e.serverId());
        m.put("status", e.status());
        m.put("responseTime", round3(e.durationNanos() / 1e6));
        m.put("timestamp", e.timestamp().toString());
        return m;
    }

    private static Map<String, Object> byClass(Map<String, Long> counts) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (String c : RecentRequests.CLASSES) {
            m.put(c, counts.getOrDefault(c, 0L));
        }
        return m;
    }

    private static Double percentile(long[] sorted, double q) {
        if (sorted.length == 0) {
            return null;
        }
        int index = (int) Math.ceil(q * sorted.length) - 1;
        return round3(sorted[Math.max(0, Math.min(index, sorted.length - 1))] / 1e6);
    }

    /** Milliseconds with three decimals, or null. */
    static Double millis(Duration d) {
        return d == null ? null : round3(d.toNanos() / 1e6);
    }

    static double round3(double v) {
        return Math.round(v * 1000.0) / 1000.0;
    }

    /** ISO-8601 in UTC with exactly three fraction digits, {@code 2026-11-26T16:05:36.610Z}: one precision for all. */
    private static final java.time.format.DateTimeFormatter MILLIS = java.time.format.DateTimeFormatter.ofPattern(
                    "uuuu-MM-dd'T'HH:mm:ss.SSS'Z'", java.util.Locale.ROOT)
            .withZone(java.time.ZoneOffset.UTC);

    static String iso(Instant t) {
        return t == null ? null : MILLIS.format(t);
    }

    /** {@code 7d 12h 30m}: whole days, hours and minutes. */
    static String uptime(Duration d) {
        long minutes = Math.max(0, d.toMinutes());
        return (minutes / (24 * 60)) + "d " + (minutes / 60 % 24) + "h " + (minutes % 60) + "m";
    }
}
