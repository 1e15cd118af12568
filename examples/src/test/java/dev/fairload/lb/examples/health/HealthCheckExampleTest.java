package dev.fairload.lb.examples.health;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.ServerStatus;
import dev.fairload.lb.ServerView;
import dev.fairload.lb.health.ActiveHealthCheck;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import org.junit.jupiter.api.Test;

class HealthCheckExampleTest {

    @Test
    void balancer_holdsTheDocsCheckConfiguration_andItsServerWaitsForItsFirstCheck() {
        // A scheduler without a thread: tasks queue and never run, so no probe leaves this machine.
        ScheduledExecutorService idle = new ScheduledThreadPoolExecutor(1, task -> null);
        try (LoadBalancer lb = HealthCheckExample.balancer(idle)) {
            ActiveHealthCheck check = lb.activeHealthCheck();
            assertThat(check.enabled()).isTrue();
            assertThat(check.path()).isEqualTo("/health");
            assertThat(check.interval()).isEqualTo(Duration.ofSeconds(30));
            assertThat(check.timeout()).isEqualTo(Duration.ofSeconds(5));
            assertThat(check.expectedStatusMin()).isEqualTo(200);
            assertThat(check.expectedStatusMax()).isEqualTo(299);
            assertThat(check.expectedBody()).contains("UP");
            assertThat(check.rise()).isEqualTo(2);
            assertThat(check.fall()).isEqualTo(3);

            ServerView server = lb.pool().list().get(0);
            assertThat(server.server().healthCheckPath()).contains("/ready");
            assertThat(server.status()).isEqualTo(ServerStatus.UNKNOWN);
        } finally {
            idle.shutdownNow();
        }
    }
}
