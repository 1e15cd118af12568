package dev.fairload.lb.exchange;

import dev.fairload.lb.Lease;
import dev.fairload.lb.PickContext;
import dev.fairload.lb.Server;
import dev.fairload.lb.internal.SetCookie;
import java.util.NoSuchElementException;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One request's life with a balanced service, as a state machine an adapter drives with what happened on the wire.
 * Made by {@link ExchangeEngine#newExchange(String, PickContext)}.
 *
 * <p><b>How an adapter drives it.</b> Each callback returns what to do next ({@link Next}):
 *
 * <pre>
 *   newExchange(method, context)  [retryable(..), oneShotBody()]
 *   start() ──SEND──> send to server() ──> onFailure(error, sent) ──RETRY──┐
 *     │                                 └─> onResponse(status) ──RETRY───────┤
 *     FAIL: no server                            │                        wait retryDelayMillis(),
 *                                             DELIVER                     then retry() ──SEND──> send again
 *                                                │                                    └─DELIVER/FAIL: give up
 *                           onSetCookie(value) for each Set-Cookie, then stream the body:
 *                           onBodyEnd()  |  onBodyFailure(error, canResend) ──RETRY──> as above
 *   cancel() at any time, from any thread: the client went away, the caller cancelled, or the client's own
 *   request body failed.
 * </pre>
 *
 * <ul>
 *   <li>{@link #start()} picks the first server: {@link Next#SEND} to {@link #server()}, or {@link Next#FAIL} when
 *       none is available ({@link #unavailableReason()} says why; a proxy answers 503).
 *   <li>{@link #onFailure(Throwable, boolean)}: the attempt failed without a response; {@code sent} is false only when
 *       the request provably never reached the server (connection refused, TLS handshake failed, nothing of the
 *       request written). Returns {@link Next#RETRY} or {@link Next#FAIL} (fail with this error). An adapter whose
 *       client reports the commit of the request as an event calls {@link #onRequestCommitted()} then, and {@link
 *       #onFailure(Throwable)} on failure.
 *   <li>{@link #onResponse(int)}: the response headers arrived. {@link Next#RETRY} (a retryable status: discard the
 *       response, or keep it unread until {@link #retry()} says whether it is delivered after all) or {@link
 *       Next#DELIVER} (pass it on).
 *   <li>{@link Next#RETRY}: wait {@link #retryDelayMillis()} (0 for a failure before sending), then call {@link
 *       #retry()}, which picks another server: {@link Next#SEND} to the new {@link #server()}, or, with no server
 *       left, {@link Next#DELIVER} (the last attempt was a response: deliver it) or {@link Next#FAIL} (fail with the
 *       last error). The engine never sleeps: the proxy schedules the retry on its scheduler; the OkHttp interceptor,
 *       whose caller's thread waits for the result anyway, sleeps that thread for the delay.
 *   <li>After {@link Next#DELIVER}: {@link #onSetCookie(String)} for each {@code Set-Cookie} header of the response,
 *       then {@link #onBodyEnd()} when the body was read to its end or closed by its consumer, or {@link
 *       #onBodyFailure(Throwable, boolean)} when reading it from the server failed. {@code canResend}: nothing of
 *       the response has reached the client yet, so the adapter could send the request again (a proxy that has not
 *       committed its response); {@link Next#RETRY} then means exactly that, and it is one of the {@code maxRetries}
 *       attempts.
 *   <li>{@link #cancel()}: releases the server without an outcome and ends the exchange; later callbacks do nothing
 *       and return {@link Next#FAIL}.
 * </ul>
 *
 * <p><b>Rules.</b>
 *
 * <ul>
 *   <li>A failure before sending may go to another server whatever the method, at once (no backoff).
 *   <li>A failure once sent, a status in {@code retryOnStatus}, or a failure in the response body (with {@code
 *       canResend}) may go to another server only for an idempotent method (RFC 9110 section 9.2.2: {@code GET,
 *       HEAD, OPTIONS, PUT, DELETE, TRACE}) or an exchange {@linkplain #retryable(boolean) marked retryable}, and
 *       never once a {@linkplain #oneShotBody() one-shot body} may have been sent; after a backoff.
 *   <li>Every retry counts against {@code maxRetries} and spends one from the service's retry budget; no retry
 *       without both. A retry that finds no other server gives its budget back.
 *   <li>Each attempt goes to a server this request has not tried.
 * </ul>
 *
 * <p><b>Leases and outcomes.</b> The exchange holds each attempt's {@link Lease} and completes it exactly once:
 * a failure ({@link #onFailure}, {@link #onBodyFailure}) fails it, which counts against the server; a retried
 * response completes it with its status at once; a delivered response completes it with its status and the time to
 * its headers at {@link #onBodyEnd()}, or at {@link #onResponse(int)} already when no body follows (a HEAD request,
 * 1xx, 204, 304). {@link #cancel()} releases it without an outcome: a client that goes away, a cancel or a failure of
 * the client's own request body never count against a server. 5xx statuses count as failures (the balancer's
 * rule).
 *
 * <p><b>Threads.</b> The callbacks of one exchange must not run concurrently, and each must happen-before the next
 * (as successive callbacks of one Jetty or OkHttp exchange, or a task handed to a scheduler, do); they may come from
 * any threads. {@link #cancel()} alone may be called from any thread at any time, concurrently with the others;
 * whatever the interleaving, every lease is completed once and none is leaked. Nothing here blocks or sleeps.
 *
 * <p><b>Cost.</b> The common path (one attempt that succeeds) allocates this object and the lease; a retry
 * allocates the pick context that excludes the servers tried. Nothing takes a lock.
 */
public final class Exchange {
    /** What the adapter does next. */
    public enum Next {
        /** Send the request to {@link #server()}. */
        SEND,
        /** Wait {@link #retryDelayMillis()}, then call {@link #retry()}. */
        RETRY,
        /** Pass the response on to the client. */
        DELIVER,
        /** Give up: fail with the last error (or, from {@link #start()}, no server: {@link #unavailableReason()}). */
        FAIL
    }

    private static final Logger logger = LoggerFactory.getLogger(Exchange.class);

    private static final int NEW = 0;
    private static final int SENDING = 1;
    private static final int RETRY_PENDING = 2;
    private static final int DELIVERED = 3;
    private static final int DONE = 4;

    private static final byte BY_METHOD = 0;
    private static final byte MARKED_RETRYABLE = 1;
    private static final byte MARKED_NOT_RETRYABLE = 2;

    private final ExchangeEngine engine;
    private final String method;
    private PickContext context;

    private byte retryable = BY_METHOD;
    private boolean oneShotBody;
    /** A one-shot body may have been sent: the request can never be sent again. */
    private boolean bodyConsumed;

    private int state = NEW;
    /** {@link #onRequestCommitted()} was called for the current attempt. */
    private boolean committed;

    private int retries;
    private long attemptStartNanos;
    private int status;
    private long latencyNanos;
    private long retryDelayMillis;
    /** The attempt that led to the pending retry ended in a response (rather than a failure). */
    private boolean retryingResponse;
    /** A response was passed on to the client. */
    private boolean delivered;

    private Lease.Unavailable unavailable;

    /** The current attempt's lease; published so that {@link #cancel()} on another thread sees it. */
    private volatile Lease lease;

    private volatile boolean cancelled;

    Exchange(ExchangeEngine engine, String method, PickContext context) {
        this.engine = engine;
        this.method = method;
        this.context = context;
    }

    // Hints, before start() --------------------------------------------------------------------------------------

    /**
     * Overrides whether this request may be sent again after it may have reached a server: true as if it were
     * idempotent (for example a POST that carries an idempotency key), false only if it provably never left the
     * client, even for an idempotent method. Without it, the method decides.
     *
     * @throws IllegalStateException after {@link #start()}
     */
    public Exchange retryable(boolean retryable) {
        requireNew("retryable");
        this.retryable = retryable ? MARKED_RETRYABLE : MARKED_NOT_RETRYABLE;
        return this;
    }

    /**
     * Declares a request body that cannot be sent twice (a stream from the client, a one-shot or duplex body): once an
     * attempt may have sent it, the request is never sent again, whatever the method.
     *
     * @throws IllegalStateException after {@link #start()}
     */
    public Exchange oneShotBody() {
        requireNew("oneShotBody");
        this.oneShotBody = true;
        return this;
    }

    // Attempts ---------------------------------------------------------------------------------------------------

    /**
     * Counts the request towards the retry budget and picks the first server.
     *
     * @return {@link Next#SEND} to {@link #server()}, or {@link Next#FAIL} with no server ({@link #unavailableReason()})
     * @throws IllegalStateException if called twice
     */
    public Next start() {
        requireNew("start");
        engine.budget.onRequest();
        return attempt(context);
    }

    /**
     * The current attempt's request was handed to the connection (for example Jetty's {@code onCommit}): from now on a
     * failure may have reached the server. For adapters that learn this as an event; they then report failures with
     * {@link #onFailure(Throwable)}. Idempotent; ignored outside an attempt.
     */
    public void onRequestCommitted() {
        if (state == SENDING) {
            committed = true;
        }
    }

    /**
     * The attempt failed without a response; it was sent if {@link #onRequestCommitted()} was called for this
     * attempt. The same as {@link #onFailure(Throwable, boolean)} with that as {@code sent}.
     */
    public Next onFailure(Throwable error) {
        return onFailure(error, committed);
    }

    /**
     * The attempt failed without a response.
     *
     * @param sent false only if the request provably never reached the server: nothing of it was written, or the
     *     connection or TLS handshake failed
     * @return {@link Next#RETRY}, or {@link Next#FAIL}: fail with {@code error}
     */
    public Next onFailure(Throwable error, boolean sent) {
        Objects.requireNonNull(error, "error");
        if (state != SENDING || cancelled) {
            return Next.FAIL;
        }
        lease.fail(error);
        if (sent && oneShotBody) {
            bodyConsumed = true;
        }
        if (retryAllowed(sent)) {
            retryDelayMillis = sent ? engine.backoffMillis(retries + 1) : 0;
            return retryPending(false, error);
        }
        state = DONE;
        return Next.FAIL;
    }

    /**
     * The response headers arrived with this status.
     *
     * @return {@link Next#DELIVER}, or {@link Next#RETRY} for a retryable status (the lease is completed with it)
     */
    public Next onResponse(int status) {
        if (state != SENDING || cancelled) {
            return Next.FAIL;
        }
        this.status = status;
        this.latencyNanos = engine.ticker.read() - attemptStartNanos;
        if (oneShotBody) {
            bodyConsumed = true;
        }
        if (engine.isRetryableStatus(status) && retryAllowed(true)) {
            lease.complete(status, latencyNanos);
            retryDelayMillis = engine.backoffMillis(retries + 1);
            return retryPending(true, null);
        }
        state = DELIVERED;
        delivered = true;
        if (noBodyFollows(status)) {
            // The exchange is over when the headers are.
            lease.complete(status, latencyNanos);
        }
        return Next.DELIVER;
    }

    /** The pause before {@link #retry()} after {@link Next#RETRY}, in milliseconds; 0 for at once. */
    public long retryDelayMillis() {
        return retryDelayMillis;
    }

    /**
     * Picks another server for the retry decided by the last callback.
     *
     * @return {@link Next#SEND} to the new {@link #server()}; with no other server, {@link Next#DELIVER} if the last
     *     attempt was a response (deliver it), else {@link Next#FAIL} (fail with the last error)
     * @throws IllegalStateException if no retry is pending
     */
    public Next retry() {
        if (state != RETRY_PENDING) {
            if (cancelled) {
                return Next.FAIL;
            }
            throw new IllegalStateException("retry: no retry pending (" + stateName() + ")");
        }
        if (cancelled) {
            engine.budget.release();
            state = DONE;
            return Next.FAIL;
        }
        PickContext next = context.withExcluded(lease.server());
        if (attempt(next) == Next.SEND) {
            retries++;
            context = next;
            return Next.SEND;
        }
        // No other server (or cancelled meanwhile): the retry is not made, so it costs nothing.
        engine.budget.release();
        if (retryingResponse && !cancelled) {
            // The last attempt's response stands; its lease is already completed.
            state = DELIVERED;
            delivered = true;
            return Next.DELIVER;
        }
        state = DONE;
        return Next.FAIL;
    }

    // The delivered response -------------------------------------------------------------------------------------

    /**
     * A {@code Set-Cookie} header of the delivered response. With the engine's {@linkplain
     * ExchangeEngine.Builder#sessionCookie(String) session cookie} configured and named by {@code setCookie}:
     *
     * <ul>
     *   <li>setting it to a value binds that session to the server that answered, whatever the status (the client
     *       keeps the cookie, and the session lives on the server that set it; a server that is failing is left by
     *       health checking, and the session fails over and is rebound). If the request carried another session key,
     *       that one is unbound: the client has replaced it.
     *   <li>deleting it (an empty value, {@code Max-Age} zero or less, or an {@code Expires} date in the past)
     *       unbinds the request's session key.
     * </ul>
     *
     * Responses that were retried never reach the client and bind nothing. Other cookies, and calls before {@link
     * Next#DELIVER}, are ignored. Cost without a session cookie configured: one field read.
     */
    public void onSetCookie(String setCookie) {
        String cookie = engine.sessionCookie;
        if (cookie == null || setCookie == null || !delivered) {
            return;
        }
        String value = SetCookie.value(setCookie, cookie, System.currentTimeMillis());
        if (value == null) {
            return;
        }
        String requestKey = context.sessionKey();
        if (value.isEmpty()) {
            if (requestKey != null) {
                engine.balancer.unbindSession(requestKey);
            }
            return;
        }
        Server server = lease.server();
        if (value.equals(requestKey) && server.id().equals(engine.balancer.sessionServer(value))) {
            return; // the pick already bound it here: an application that sets its cookie on every response
        }
        try {
            engine.balancer.bindSession(value, server.id());
        } catch (NoSuchElementException removedMeanwhile) {
            logger.debug("{}: not binding a session to {}: removed", engine.balancer.name(), server);
        }
        if (requestKey != null && !requestKey.equals(value)) {
            engine.balancer.unbindSession(requestKey);
        }
    }

    /**
     * The delivered response's body was read to its end, or its consumer closed it: completes the lease with the
     * status and the time to the headers. Idempotent.
     */
    public void onBodyEnd() {
        if (state == DELIVERED) {
            state = DONE;
            lease.complete(status, latencyNanos);
        }
    }

    /**
     * Reading the delivered response's body from the server failed (not the client: a client that goes away is
     * {@link #cancel()}). Counts against the server.
     *
     * @param canResend nothing of the response has reached the client, so the request could be sent again
     * @return {@link Next#RETRY} (only with {@code canResend}: discard what was received, and send again after
     *     {@link #retry()}), or {@link Next#FAIL}
     */
    public Next onBodyFailure(Throwable error, boolean canResend) {
        Objects.requireNonNull(error, "error");
        if (state != DELIVERED || cancelled) {
            return Next.FAIL;
        }
        lease.fail(error);
        if (canResend && retryAllowed(true)) {
            retryDelayMillis = engine.backoffMillis(retries + 1);
            return retryPending(false, error);
        }
        state = DONE;
        return Next.FAIL;
    }

    /**
     * Ends the exchange for a reason that is not the server's: the caller cancelled, the client went away, or the
     * client's own request body failed. Releases the current lease without an outcome; later callbacks return {@link
     * Next#FAIL} and do nothing. Any thread, any time; idempotent.
     */
    public void cancel() {
        cancelled = true;
        // Read after the write above; attempt() writes the lease before reading the flag: one of the two closes it.
        Lease current = lease;
        if (current != null) {
            current.close();
        }
    }

    // Queries ----------------------------------------------------------------------------------------------------

    /**
     * The server of the current attempt: where to send after {@link Next#SEND}, and who answered a delivered response.
     *
     * @throws IllegalStateException before a server was picked
     */
    public Server server() {
        Lease current = lease;
        if (current == null) {
            throw new IllegalStateException("server: none picked (" + stateName() + ")");
        }
        return current.server();
    }

    /**
     * For a balancer-set sticky cookie ({@link Server#stickyToken()}): the token to give the client with the delivered
     * response, or null when the request already carries it ({@link PickContext#stickyToken()}) or nothing was
     * delivered. A request whose token names a server that is gone or unhealthy was sent elsewhere, and gets the new
     * server's token.
     */
    public String stickyTokenToSet() {
        if (!delivered) {
            return null;
        }
        String token = lease.server().stickyToken();
        return token.equals(context.stickyToken()) ? null : token;
    }

    /** Retries made so far: 0 during the first attempt. */
    public int retries() {
        return retries;
    }

    /** Why the last pick found no server, or null if every pick found one. */
    public Lease.Unavailable unavailableReason() {
        return unavailable;
    }

    /** Whether {@link #cancel()} was called. */
    public boolean isCancelled() {
        return cancelled;
    }

    /** The context of the current attempt's pick: the request's, plus the servers already tried. */
    public PickContext context() {
        return context;
    }

    @Override
    public String toString() {
        Lease current = lease;
        return "Exchange{" + method + ", " + stateName() + ", retries=" + retries
                + (current == null ? "" : ", server=" + current.server().id()) + (cancelled ? ", cancelled}" : "}");
    }

    // Rules ------------------------------------------------------------------------------------------------------

    private Next attempt(PickContext pickContext) {
        Lease picked = engine.balancer.pick(pickContext);
        if (!picked.isAcquired()) {
            unavailable = picked.unavailableReason();
            if (state == NEW) {
                state = DONE;
            }
            return Next.FAIL;
        }
        attemptStartNanos = engine.ticker.read();
        committed = false;
        lease = picked;
        if (cancelled) {
            // cancel() may have read the previous lease: this one is released here.
            picked.close();
            state = DONE;
            return Next.FAIL;
        }
        state = SENDING;
        return Next.SEND;
    }

    /**
     * Whether the request may go to another server now; takes one from the budget if so. For a request that may have
     * been sent ({@code sent}), only if it may be sent again.
     */
    private boolean retryAllowed(boolean sent) {
        if (retries >= engine.maxRetries || bodyConsumed) {
            return false;
        }
        if (sent && !maySendAgain()) {
            return false;
        }
        return engine.budget.tryAcquire();
    }

    private boolean maySendAgain() {
        if (retryable != BY_METHOD) {
            return retryable == MARKED_RETRYABLE;
        }
        return isIdempotent(method);
    }

    private Next retryPending(boolean response, Throwable error) {
        state = RETRY_PENDING;
        delivered = false;
        retryingResponse = response;
        if (logger.isDebugEnabled()) {
            logger.debug(
                    "{}: retry {} of {} after {} from {}",
                    engine.balancer.name(),
                    retries + 1,
                    method,
                    response ? "HTTP " + status : String.valueOf(error),
                    lease.server());
        }
        return Next.RETRY;
    }

    private boolean noBodyFollows(int status) {
        return status < 200 || status == 204 || status == 304 || "HEAD".equals(method);
    }

    /** RFC 9110 section 9.2.2. */
    static boolean isIdempotent(String method) {
        switch (method) {
            case "GET":
            case "HEAD":
            case "OPTIONS":
            case "PUT":
            case "DELETE":
            case "TRACE":
                return true;
            default:
                return false;
        }
    }

    private void requireNew(String what) {
        if (state != NEW) {
            throw new IllegalStateException(what + ": the exchange has started (" + stateName() + ")");
        }
    }

    private String stateName() {
        switch (state) {
            case NEW:
                return "new";
            case SENDING:
                return "sending";
            case RETRY_PENDING:
                return "retry pending";
            case DELIVERED:
                return "delivered";
            default:
                return "done";
        }
    }
}
