package dev.fairload.lb.okhttp.internal;

import io.github.resilience4j.core.IntervalFunction;
import java.util.Set;

/**
 * The interceptor-wide options a balanced call reads. Immutable.
 *
 * @param maxRetries attempts after the first, at most
 * @param backoff pause before a budgeted retry, by retry number from 1; null for none
 * @param preserveHostHeader send the logical authority as {@code Host} instead of the backend's
 * @param sessionHeader request header holding a sticky-session key, or null
 * @param sessionCookie cookie holding a sticky-session key, or null; responses setting it bind the session
 * @param hashHeader request header holding a consistent-hash key, or null
 * @param hashCookie cookie holding a consistent-hash key, or null
 * @param retryOnStatus response statuses (500-599) retried like a failure after sending
 */
public record CallSettings(
        int maxRetries,
        IntervalFunction backoff,
        boolean preserveHostHeader,
        String sessionHeader,
        String sessionCookie,
        String hashHeader,
        String hashCookie,
        Set<Integer> retryOnStatus) {

    /** Whether a response with this status is retried (for a request that may be retried at all). */
    boolean isRetryableStatus(int code) {
        return code >= 500 && retryOnStatus.contains(code);
    }

    boolean readsKeys() {
        return sessionHeader != null || sessionCookie != null || hashHeader != null || hashCookie != null;
    }
}
