package dev.fairload.lb.servlet.internal;

import dev.fairload.lb.Lease;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.okhttp.LoadBalancingInterceptor;
import dev.fairload.lb.okhttp.NoServerAvailableException;
import java.util.List;
import okhttp3.Interceptor;

/** The one place the proxy touches lb-okhttp's balancing interceptor. */
public final class Balancing {
    private Balancing() {}

    /**
     * The balancing interceptor for the proxy's upstream host. Pick hints (client address, session key, sticky
     * token) travel as a {@code PickContext} request tag set by the servlet, so the interceptor reads no cookies or
     * headers itself. Backends are reached with {@code scheme} ({@code http} or {@code https}); responses with a
     * status in {@code retryOnStatus} are retried elsewhere for idempotent requests.
     */
    public static Interceptor interceptor(
            String host, LoadBalancer lb, int maxRetries, List<Integer> retryOnStatus, String scheme) {
        return LoadBalancingInterceptor.builder()
                .service(host, lb, scheme)
                .maxRetries(maxRetries)
                .retryOnStatus(retryOnStatus)
                .build();
    }

    /** Whether the upstream call failed because no server could be picked. */
    public static boolean isNoServer(Throwable error) {
        return error instanceof NoServerAvailableException;
    }

    /** Whether the upstream call failed because every healthy server was at its concurrency limit. */
    public static boolean isOverloaded(Throwable error) {
        return error instanceof NoServerAvailableException e && e.reason() == Lease.Unavailable.OVERLOADED;
    }
}
