package dev.fairload.lb.servlet.internal;

import java.util.Enumeration;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * Hop-by-hop header rules (RFC 9110 section 7.6.1): these describe one connection and never cross the proxy, nor
 * do the headers a {@code Connection} header names.
 */
public final class HopByHop {
    private static final Set<String> NAMES = Set.of(
            "connection",
            "keep-alive",
            "proxy-connection",
            "te",
            "trailer",
            "transfer-encoding",
            "upgrade",
            "proxy-authorization",
            "proxy-authenticate",
            "http2-settings");

    private HopByHop() {}

    /** Whether {@code lowerCaseName} is hop-by-hop by definition. */
    public static boolean isHopByHop(String lowerCaseName) {
        return NAMES.contains(lowerCaseName);
    }

    /** The lower-case names listed in {@code Connection} header values (for example {@code close, X-Internal}). */
    public static Set<String> nominated(Enumeration<String> connectionValues) {
        Set<String> names = Set.of();
        while (connectionValues != null && connectionValues.hasMoreElements()) {
            names = add(names, connectionValues.nextElement());
        }
        return names;
    }

    /** The lower-case names listed in {@code Connection} header values. */
    public static Set<String> nominated(Iterable<String> connectionValues) {
        Set<String> names = Set.of();
        for (String value : connectionValues) {
            names = add(names, value);
        }
        return names;
    }

    private static Set<String> add(Set<String> names, String value) {
        Set<String> out = names.isEmpty() ? new HashSet<>() : names;
        for (String token : value.split(",")) {
            String t = token.strip().toLowerCase(Locale.ROOT);
            if (!t.isEmpty()) {
                out.add(t);
            }
        }
        return out;
    }

    /** Whether a comma-separated header value list contains {@code token}, ignoring case and parameters. */
    public static boolean containsToken(Enumeration<String> values, String token) {
        while (values != null && values.hasMoreElements()) {
            for (String part : values.nextElement().split(",")) {
                String t = part.strip();
                int semi = t.indexOf(';');
                if (semi >= 0) {
                    t = t.substring(0, semi).strip();
                }
                if (t.equalsIgnoreCase(token)) {
                    return true;
                }
            }
        }
        return false;
    }
}
