package dev.fairload.lb;

/**
 * One request's hold on a server, handed out by {@link LoadBalancer#pick(PickContext)}.
 *
 * <p>While a lease is open it counts as one in-flight request on its server. Completing it with the
 * outcome ({@link #complete(int)}, {@link #fail(Throwable)}) releases that count and records the request
 * in the server's statistics, the latency-aware strategies and passive health, exactly once: later calls,
 * {@link #close()} included, do nothing. Closing a lease without an outcome releases it and records
 * nothing else (use it for cancelled requests). Use try-with-resources so no lease leaks.
 *
 * <p>A lease may be completed from any thread. A pick that found no server returns a lease that is not
 * {@linkplain #isAcquired() acquired}; completing or closing it is harmless.
 */
public interface Lease extends AutoCloseable {

    /** Why a pick found no server. */
    enum Unavailable {
        /** The pool has no servers. */
        NO_SERVERS,
        /** The pool has servers, but none is healthy. */
        NO_HEALTHY_SERVER,
        /** Every healthy server was already tried by this request. */
        ALL_TRIED,
        /** Every healthy server is at its concurrency limit. */
        OVERLOADED
    }

    /** Whether a server was picked. */
    boolean isAcquired();

    /**
     * The picked server.
     *
     * @throws IllegalStateException if no server was picked
     */
    Server server();

    /** Why no server was picked, or null if one was. */
    Unavailable unavailableReason();

    /** Records a response with this status code; latency is the time since the pick. 5xx counts as a failure. */
    void complete(int statusCode);

    /** Records a response with this status code and a latency the caller measured (for example to first byte). */
    void complete(int statusCode, long latencyNanos);

    /** Records a failure without a response (connection refused, reset, timeout). */
    void fail(Throwable error);

    /** Releases the server without recording an outcome. Idempotent. */
    @Override
    void close();
}
