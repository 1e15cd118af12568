package dev.fairload.lb;

import java.time.Duration;
import java.time.Instant;

/**
 * A point-in-time reading of one server: its configuration, status and live statistics. Immutable; read a new
 * one from {@link ServerPool#get(String)} or {@link ServerPool#list()} to see later changes.
 *
 * @param server the configuration
 * @param status the current status
 * @param effectiveWeight the weight strategies use now (lower than configured while slow start ramps it up)
 * @param inFlight requests picked and not yet completed
 * @param totalRequests completed requests
 * @param failures completed requests that failed (5xx or no response)
 * @param lastResponseTime latency of the last completed request, or null before the first
 * @param averageResponseTime smoothed (peak-EWMA) latency, or null before the first response
 * @param lastSeen when the last request completed, or null before the first
 * @param lastHealthCheck when the last active health check finished, or null if none ran yet
 */
public record ServerView(
        Server server,
        ServerStatus status,
        int effectiveWeight,
        int inFlight,
        long totalRequests,
        long failures,
        Duration lastResponseTime,
        Duration averageResponseTime,
        Instant lastSeen,
        Instant lastHealthCheck) {

    public String id() {
        return server.id();
    }
}
