package dev.fairload.lb.okhttp.internal;

import dev.fairload.lb.PickContext;
import java.util.List;
import okhttp3.Request;

/**
 * Reads sticky-session and hash keys from request headers and cookies: the per-request hints the interceptor passes to
 * the exchange engine. (What a response's {@code Set-Cookie} does to a session is the engine's rule.)
 */
final class StickyKeys {
    private StickyKeys() {}

    /** The request's base context: its {@link PickContext} tag, completed with keys from headers and cookies. */
    static PickContext context(Request request, CallSettings settings) {
        PickContext tagged = request.tag(PickContext.class);
        PickContext base = tagged == null ? PickContext.empty() : tagged;
        if (!settings.readsKeys()) {
            return base;
        }
        String sessionKey =
                base.sessionKey() == null ? key(request, settings.sessionHeader(), settings.sessionCookie()) : null;
        String hashKey = base.hashKey() == null ? key(request, settings.hashHeader(), settings.hashCookie()) : null;
        if (sessionKey == null && hashKey == null) {
            return base;
        }
        PickContext.Builder builder = base.toBuilder();
        if (sessionKey != null) {
            builder.sessionKey(sessionKey);
        }
        if (hashKey != null) {
            builder.hashKey(hashKey);
        }
        return builder.build();
    }

    private static String key(Request request, String header, String cookie) {
        if (header != null) {
            String value = request.header(header);
            if (value != null && !value.isEmpty()) {
                return value;
            }
        }
        return cookie == null ? null : cookieValue(request.headers("Cookie"), cookie);
    }

    /** The value of cookie {@code name} in {@code Cookie} request headers ({@code a=1; b=2}), or null. */
    static String cookieValue(List<String> cookieHeaders, String name) {
        for (String header : cookieHeaders) {
            int start = 0;
            while (start < header.length()) {
                int end = header.indexOf(';', start);
                if (end < 0) {
                    end = header.length();
                }
                String value = valueIfNamed(header, start, end, name);
                if (value != null) {
                    return value;
                }
                start = end + 1;
            }
        }
        return null;
    }

    private static String valueIfNamed(String text, int start, int end, String name) {
        int equals = text.indexOf('=', start);
        if (equals < 0 || equals >= end) {
            return null;
        }
        if (!text.substring(start, equals).trim().equals(name)) {
            return null;
        }
        String value = text.substring(equals + 1, end).trim();
        if (value.length() >= 2 && value.charAt(0) == '"' && value.charAt(value.length() - 1) == '"') {
            value = value.substring(1, value.length() - 1);
        }
        return value.isEmpty() ? null : value;
    }
}
