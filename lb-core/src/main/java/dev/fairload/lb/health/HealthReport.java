package dev.fairload.lb.health;

import dev.fairload.lb.ServerStatus;
import java.time.Duration;
import java.time.Instant;

/**
 * What the balancer knows of one server's health. Immutable.
 *
 * @param serverId the server
 * @param status its status now
 * @param activeChecked whether active checks run for it
 * @param lastHealthCheck when its last active check finished, or null
 * @param lastCheckDuration how long that check took, or null
 * @param consecutiveSuccesses active checks passed in a row
 * @param consecutiveFailures active checks failed in a row
 * @param lastError why the last failed active check failed ({@code "status 503"}, {@code "timeout"},
 *     {@code "connection refused"}, {@code "body mismatch"}), or null
 * @param ejected whether passive checks hold it out of rotation
 * @param ejections ejections in a row (the multiplier of the next ejection time)
 * @param ejectedUntil when the current ejection ends, or null
 * @param circuitState its resilience4j circuit-breaker state: CLOSED, OPEN or HALF_OPEN
 */
public record HealthReport(
        String serverId,
        ServerStatus status,
        boolean activeChecked,
        Instant lastHealthCheck,
        Duration lastCheckDuration,
        int consecutiveSuccesses,
        int consecutiveFailures,
        String lastError,
        boolean ejected,
        int ejections,
        Instant ejectedUntil,
        String circuitState) {}
