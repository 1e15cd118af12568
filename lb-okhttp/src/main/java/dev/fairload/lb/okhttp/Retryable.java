package dev.fairload.lb.okhttp;

/**
 * A request tag that overrides whether a request may be sent again after it may have reached a server. Attach
 * it with {@code new Request.Builder().tag(Retryable.class, Retryable.YES)}.
 *
 * <p>Without the tag, the idempotent methods of RFC 9110 section 9.2.2 ({@code GET, HEAD, OPTIONS, PUT, DELETE,
 * TRACE}) are retried after a failure once sent or after a 502, 503 or 504 response, and other methods are not.
 * A failure to connect, before anything was sent, is retried whatever the method or tag says. A request body
 * that is {@linkplain okhttp3.RequestBody#isOneShot() one-shot} or duplex is never replayed once it may have
 * been written, whatever the tag says.
 */
public enum Retryable {
    /** Retry this request as if it were idempotent, for example a POST that carries an idempotency key. */
    YES,
    /** Retry this request only if it provably never left the client, even if its method is idempotent. */
    NO
}
