package dev.fairload.lb.okhttp.internal;

/**
 * The interceptor-wide options a balanced call reads besides its service's engine. Immutable.
 *
 * @param preserveHostHeader send the logical authority as {@code Host} instead of the backend's
 * @param sessionHeader request header holding a sticky-session key, or null
 * @param sessionCookie cookie holding a sticky-session key, or null; responses setting it bind the session
 * @param hashHeader request header holding a consistent-hash key, or null
 * @param hashCookie cookie holding a consistent-hash key, or null
 */
public record CallSettings(
        boolean preserveHostHeader, String sessionHeader, String sessionCookie, String hashHeader, String hashCookie) {

    boolean readsKeys() {
        return sessionHeader != null || sessionCookie != null || hashHeader != null || hashCookie != null;
    }
}
