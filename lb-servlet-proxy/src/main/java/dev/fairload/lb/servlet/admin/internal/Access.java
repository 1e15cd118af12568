package dev.fairload.lb.servlet.admin.internal;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Who may call the admin API: an optional bearer token, and no cross-site browser requests for changes.
 *
 * <p>The token is compared in constant time: both sides are hashed with SHA-256 and the digests compared with
 * {@link MessageDigest#isEqual}, so neither the content nor the length of the token leaks through timing. The
 * token is never logged, echoed or shown; {@link #toString()} says only whether one is set.
 *
 * <p>Cross-site requests: a browser sends {@code Origin} (and {@code Sec-Fetch-Site}) with cross-origin requests.
 * A change (POST, PUT, DELETE) whose {@code Sec-Fetch-Site} is neither {@code same-origin} nor {@code none}, or
 * whose {@code Origin} does not match its {@code Host}, is refused with 403; no CORS headers are ever sent, so
 * browsers also refuse to show answers to other sites. Non-browser clients send neither header and are not
 * affected. Together with the JSON content type required for bodies (a cross-site form cannot send it without a
 * preflight, which is never granted) this closes the CSRF routes.
 *
 * <p>Immutable and thread-safe.
 */
public final class Access {
    private final byte[] tokenDigest;

    /** @param token the bearer token, or null for none (then only the cross-site rule applies) */
    public Access(String token) {
        if (token != null && (token.isBlank() || token.chars().anyMatch(c -> c <= ' ' || c >= 127))) {
            throw new IllegalArgumentException("adminToken: (not shown) (expected: printable ASCII without spaces)");
        }
        this.tokenDigest = token == null ? null : sha256(token);
    }

    public boolean tokenRequired() {
        return tokenDigest != null;
    }

    /**
     * Checks the {@code Authorization} header.
     *
     * @throws ApiException 401 with {@code WWW-Authenticate} if a token is required and not given correctly
     */
    public void authenticate(String authorization) {
        if (tokenDigest == null) {
            return;
        }
        String given = null;
        if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            given = authorization.substring(7).strip();
        }
        // Hash even when nothing usable was given, so every refusal costs the same.
        byte[] digest = sha256(given == null ? "" : given);
        if (given == null || !MessageDigest.isEqual(digest, tokenDigest)) {
            throw new ApiException(
                    401,
                    given == null ? "Authorization: missing (expected: Bearer token)" : "Authorization: invalid token",
                    Map.of("WWW-Authenticate", "Bearer realm=\"fairload-admin\""));
        }
    }

    /**
     * Refuses changes sent by a browser from another site.
     *
     * @param header the request's headers by name (case-insensitive lookup)
     * @throws ApiException 403 for a cross-site request
     */
    public static void refuseCrossSite(Function<String, String> header) {
        String fetchSite = header.apply("Sec-Fetch-Site");
        if (fetchSite != null) {
            String site = fetchSite.strip().toLowerCase(Locale.ROOT);
            if (!site.equals("same-origin") && !site.equals("none")) {
                throw new ApiException(403, "Sec-Fetch-Site: " + site + " (cross-site changes are refused)");
            }
        }
        String origin = header.apply("Origin");
        if (origin != null) {
            String host = header.apply("Host");
            if (host == null || !host.equalsIgnoreCase(authority(origin))) {
                throw new ApiException(403, "Origin: does not match Host (cross-site changes are refused)");
            }
        }
    }

    private static String authority(String origin) {
        try {
            URI uri = new URI(origin.strip());
            if (uri.getHost() == null) {
                return null;
            }
            String host = uri.getHost();
            int port = uri.getPort();
            return port < 0 ? host : host + ":" + port;
        } catch (Exception e) {
            return null;
        }
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return tokenDigest == null ? "Access{no token}" : "Access{bearer token set}";
    }
}
