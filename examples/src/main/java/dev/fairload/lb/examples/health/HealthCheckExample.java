package dev.fairload.lb.examples.health;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.health.ActiveHealthCheck;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Active health checks as docs/health.md configures them: a per-server check path, the balancer's defaults for
 * the others, and every threshold spelled out. {@code HealthCheckExampleTest} builds it and checks what it holds.
 */
public final class HealthCheckExample {
    private HealthCheckExample() {}

    /**
     * The docs' balancer, on {@code scheduler} (the tests pass one that runs nothing, since 10.0.0.1 is not theirs
     * to probe; by default the balancer uses a thread of its own).
     */
    public static LoadBalancer balancer(ScheduledExecutorService scheduler) {
        LoadBalancer lb = LoadBalancer.builder()
                .addServer(Server.builder("10.0.0.1", 8080)
                        .healthCheckPath("/ready")
                        .build())
                .activeHealthCheck(ActiveHealthCheck.builder()
                        .path("/health") // default for servers without their own
                        .interval(Duration.ofSeconds(30)) // default 30 s
                        .timeout(Duration.ofSeconds(5)) // default 5 s, must be shorter than the interval
                        .expectedStatus(200, 299) // default 2xx
                        .expectedBody("UP") // optional
                        .rise(2)
                        .fall(3) // defaults
                        .build())
                .scheduler(scheduler)
                .build();
        return lb;
    }
}
