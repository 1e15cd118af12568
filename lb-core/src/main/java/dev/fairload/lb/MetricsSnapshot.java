package dev.fairload.lb;

import java.time.Duration;
import java.util.Map;

/**
 * A point-in-time reading of a load balancer's counters. Immutable. Counters only grow for the balancer's
 * lifetime; rates and percentiles cover the recent window described on each component.
 *
 * @param totalRequests completed requests (with a response or a failure)
 * @param failedRequests completed requests that failed: 5xx or no response
 * @param inFlight requests picked and not yet completed, over all servers
 * @param requestsPerSecond completions per second over the last 10 seconds
 * @param averageResponseTime mean latency of all completed requests
 * @param p50 median latency since start, within about 6%
 * @param p95 95th percentile latency since start
 * @param p99 99th percentile latency since start
 * @param retries picks made for a request that had already tried another server
 * @param failovers sticky requests sent elsewhere because their server was gone, unhealthy or draining
 * @param noServerAvailable picks that found no server
 * @param overloaded picks refused because every candidate server had its maximum of requests in flight
 * @param panicPicks picks made in panic mode, over every server that is not draining
 * @param ejections passive-health ejections
 * @param activeSessions sticky sessions currently bound (an estimate, as Caffeine's)
 * @param responsesByClass completed requests by status class: {@code 1xx} to {@code 5xx}, and {@code none}
 *     for failures without a response
 * @param uptime time since the balancer was built
 */
public record MetricsSnapshot(
        long totalRequests,
        long failedRequests,
        long inFlight,
        double requestsPerSecond,
        Duration averageResponseTime,
        Duration p50,
        Duration p95,
        Duration p99,
        long retries,
        long failovers,
        long noServerAvailable,
        long overloaded,
        long panicPicks,
        long ejections,
        long activeSessions,
        Map<String, Long> responsesByClass,
        Duration uptime) {

    public MetricsSnapshot {
        responsesByClass = Map.copyOf(responsesByClass);
    }
}
