package dev.fairload.lb.examples.metrics;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.micrometer.LoadBalancerMetrics;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * A balancer's metrics in a Micrometer registry, as docs/metrics.md shows; {@code MetricsExampleTest} reads them
 * back after requests to a local backend.
 */
public final class MetricsExample {
    private MetricsExample() {}

    /** Registers the meters of {@code lb} in {@code meterRegistry}. */
    public static void bind(LoadBalancer lb, MeterRegistry meterRegistry) {
        new LoadBalancerMetrics(lb).bindTo(meterRegistry); // dev.fairload.lb.micrometer; needs micrometer-core
    }
}
