/**
 * The exchange engine: every rule of one request's life with a balanced service that is not transport (attempts,
 * retries, retry budget, backoff, lease completion, what counts against a server, session-cookie binding), for
 * adapters over any HTTP client or server. Start at {@link dev.fairload.lb.exchange.ExchangeEngine}.
 */
package dev.fairload.lb.exchange;
