package dev.fairload.lb.okhttp.internal;

import dev.fairload.lb.exchange.ExchangeEngine;

/**
 * One logical service an interceptor balances: calls to {@code name} go to the servers of {@code engine}'s balancer,
 * under the engine's rules.
 *
 * @param name the logical host name, lower case
 * @param engine the service's exchange engine, with its own retry budget, so one failing service cannot spend
 *     another's
 * @param scheme the backend scheme ({@code http} or {@code https}), or null to keep the request's
 * @param urls the base URLs of the service's servers
 */
public record ServiceRoute(String name, ExchangeEngine engine, String scheme, ServerUrls urls) {
    public ServiceRoute(String name, ExchangeEngine engine, String scheme) {
        this(name, engine, scheme, new ServerUrls());
    }
}
