package dev.fairload.lb.okhttp.internal;

import dev.fairload.lb.LoadBalancer;

/**
 * One logical service an interceptor balances: calls to {@code name} go to {@code balancer}'s servers.
 *
 * @param name the logical host name, lower case
 * @param balancer the service's balancer
 * @param scheme the backend scheme ({@code http} or {@code https}), or null to keep the request's
 * @param budget the service's own retry budget, so one failing service cannot spend another's
 * @param urls the base URLs of the service's servers
 */
public record ServiceRoute(String name, LoadBalancer balancer, String scheme, RetryBudget budget, ServerUrls urls) {
    public ServiceRoute(String name, LoadBalancer balancer, String scheme, RetryBudget budget) {
        this(name, balancer, scheme, budget, new ServerUrls());
    }
}
