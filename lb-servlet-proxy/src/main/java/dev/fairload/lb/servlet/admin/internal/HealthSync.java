package dev.fairload.lb.servlet.admin.internal;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.health.ActiveHealthCheck;
import dev.fairload.lb.servlet.ProxyConfig;
import dev.fairload.lb.servlet.ProxyRuntime;
import java.time.Duration;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the balancer's active health checks in line with the runtime configuration's {@code healthCheckEnabled},
 * {@code healthCheckInterval}, {@code healthCheckFastInterval} and {@code healthCheckTimeout}. The rest of the balancer's check settings (path,
 * expected status, rise and fall, TLS) are kept as they are, so an embedding application can set them on the
 * balancer and still let operators switch checks and change their timing through the admin API.
 *
 * <p>The admin API applies health settings itself, before the rest of a configuration change, so that a value the
 * balancer refuses leaves everything unchanged. This listener covers changes made directly through {@link
 * ProxyRuntime#update(ProxyConfig)}; there, a refused value is logged and the checks stay as they were.
 */
public final class HealthSync implements ProxyRuntime.ConfigListener {
    private static final Logger log = LoggerFactory.getLogger(HealthSync.class);

    private final LoadBalancer lb;

    public HealthSync(LoadBalancer lb) {
        this.lb = lb;
    }

    /** The balancer's check settings with the four health fields of {@code config}. */
    static ActiveHealthCheck derive(ProxyConfig config, ActiveHealthCheck current) {
        return current.toBuilder()
                .enabled(config.healthCheckEnabled())
                .interval(Duration.ofSeconds(config.healthCheckInterval()))
                .fastInterval(Duration.ofSeconds(config.healthCheckFastInterval()))
                .timeout(Duration.ofSeconds(config.healthCheckTimeout()))
                .build();
    }

    static boolean same(ActiveHealthCheck a, ActiveHealthCheck b) {
        return a.enabled() == b.enabled()
                && Objects.equals(a.interval(), b.interval())
                && Objects.equals(a.fastInterval(), b.fastInterval())
                && Objects.equals(a.timeout(), b.timeout());
    }

    /**
     * Applies {@code config}'s health fields if they differ from the balancer's.
     *
     * @throws IllegalArgumentException naming the field, changing nothing, if the balancer refuses them
     */
    public void apply(ProxyConfig config) {
        ActiveHealthCheck current = lb.activeHealthCheck();
        ActiveHealthCheck next = derive(config, current);
        if (!same(current, next)) {
            lb.activeHealthCheck(next);
        }
    }

    @Override
    public void onConfigChanged(ProxyConfig previous, ProxyConfig current) {
        try {
            apply(current);
        } catch (IllegalArgumentException e) {
            log.warn("{}: health-check settings not applied: {}", lb.name(), e.getMessage());
        }
    }
}
