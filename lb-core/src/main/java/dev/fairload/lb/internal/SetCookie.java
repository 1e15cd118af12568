package dev.fairload.lb.internal;

import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.util.Locale;

/**
 * Reads what a {@code Set-Cookie} response header does to one named cookie (RFC 6265 section 5.2): sets it to a
 * value, deletes it, or leaves it alone (another cookie). Only the name, the value and the {@code Max-Age} and
 * {@code Expires} attributes matter here.
 *
 * <p>Deleted means what a browser would do with it: an empty value, {@code Max-Age} zero or negative, or, without
 * {@code Max-Age} (which takes precedence, section 5.3 step 3), an {@code Expires} date in the past. An {@code
 * Expires} date that does not parse is ignored, as browsers ignore it.
 *
 * <p>Stateless; allocates the value string and, only for a header that names the cookie and carries {@code
 * Expires} without {@code Max-Age}, the parsed date.
 */
public final class SetCookie {
    private SetCookie() {}

    /**
     * The value {@code setCookie} gives cookie {@code name}; the empty string if it deletes the cookie; null if it
     * sets another cookie or is malformed.
     *
     * @param nowEpochMillis the wall-clock time an {@code Expires} date is compared with
     */
    public static String value(String setCookie, String name, long nowEpochMillis) {
        int end = setCookie.indexOf(';');
        if (end < 0) {
            end = setCookie.length();
        }
        int equals = setCookie.indexOf('=');
        if (equals < 0 || equals >= end || !matches(setCookie, 0, equals, name)) {
            return null;
        }
        String value = setCookie.substring(equals + 1, end).trim();
        if (value.length() >= 2 && value.charAt(0) == '"' && value.charAt(value.length() - 1) == '"') {
            value = value.substring(1, value.length() - 1);
        }
        if (value.isEmpty() || expired(setCookie, end, nowEpochMillis)) {
            return "";
        }
        return value;
    }

    /** Whether {@code text[start, end)}, trimmed, is {@code name}. */
    private static boolean matches(String text, int start, int end, String name) {
        while (start < end && text.charAt(start) <= ' ') {
            start++;
        }
        while (end > start && text.charAt(end - 1) <= ' ') {
            end--;
        }
        return end - start == name.length() && text.startsWith(name, start);
    }

    private static boolean expired(String setCookie, int attributesStart, long nowEpochMillis) {
        String expires = null;
        int start = attributesStart;
        while (start < setCookie.length()) {
            int end = setCookie.indexOf(';', start + 1);
            if (end < 0) {
                end = setCookie.length();
            }
            int equals = setCookie.indexOf('=', start + 1);
            if (equals > 0 && equals < end) {
                String attribute = setCookie.substring(start + 1, equals).trim();
                String attributeValue = setCookie.substring(equals + 1, end).trim();
                if (attribute.equalsIgnoreCase("Max-Age")) {
                    // RFC 6265 section 5.2.2: a leading '-' or digits; anything else is ignored.
                    Boolean deleted = maxAgeDeletes(attributeValue);
                    if (deleted != null) {
                        return deleted;
                    }
                } else if (attribute.equalsIgnoreCase("Expires")) {
                    expires = attributeValue;
                }
            }
            start = end;
        }
        return expires != null && expiresBefore(expires, nowEpochMillis);
    }

    /** True if this Max-Age value deletes the cookie, false if it keeps it, null if it is not a number. */
    private static Boolean maxAgeDeletes(String value) {
        if (value.isEmpty()) {
            return null;
        }
        int i = value.charAt(0) == '-' ? 1 : 0;
        if (i == value.length()) {
            return null;
        }
        boolean allZero = true;
        for (; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < '0' || c > '9') {
                return null;
            }
            allZero &= c == '0';
        }
        return value.charAt(0) == '-' || allZero;
    }

    private static boolean expiresBefore(String expires, long nowEpochMillis) {
        try {
            // RFC 1123 dates, the form servers send ("Thu, 01 Jan 1970 00:00:00 GMT", also with dashes between
            // day, month and year); the day name is skipped, as browsers do not check it. Others are ignored.
            int comma = expires.indexOf(',');
            String date = expires.substring(comma + 1).trim().replace('-', ' ');
            return ZonedDateTime.parse(date, RFC_1123_DATE).toInstant().toEpochMilli() <= nowEpochMillis;
        } catch (DateTimeParseException e) {
            return false;
        }
    }

    private static final DateTimeFormatter RFC_1123_DATE = new DateTimeFormatterBuilder()
            .parseCaseInsensitive()
            .appendPattern("d MMM yyyy HH:mm:ss 'GMT'")
            .toFormatter(Locale.ROOT)
            .withZone(ZoneOffset.UTC);
}
