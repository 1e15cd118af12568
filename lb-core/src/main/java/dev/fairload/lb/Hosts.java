package dev.fairload.lb;

import java.util.Locale;

/** Host validation shared by the builders: a DNS name (RFC 1123), an IPv4 literal or an IPv6 literal. */
final class Hosts {
    private Hosts() {}

    static String validate(String host) {
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        if (h.isEmpty()) {
            throw new IllegalArgumentException("host: empty (expected: a host name or IP address)");
        }
        if (h.length() > 253 || !(isIpv6(h) || isHostName(h))) {
            throw new IllegalArgumentException("host: '" + host + "' (expected: a host name or IP address)");
        }
        return h.toLowerCase(Locale.ROOT);
    }

    private static boolean isHostName(String h) {
        // Labels of letters, digits and hyphens, not starting or ending with a hyphen. IPv4 literals pass too;
        // all-numeric labels are checked as an address when there are exactly four of them.
        String[] labels = h.split("\\.", -1);
        boolean numeric = true;
        for (String label : labels) {
            if (label.isEmpty() || label.length() > 63 || label.startsWith("-") || label.endsWith("-")) {
                return false;
            }
            for (int i = 0; i < label.length(); i++) {
                char c = label.charAt(i);
                boolean digit = c >= '0' && c <= '9';
                numeric &= digit;
                if (!(digit || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-')) {
                    return false;
                }
            }
        }
        if (numeric) {
            if (labels.length != 4) {
                return false;
            }
            for (String label : labels) {
                if (label.length() > 3 || Integer.parseInt(label) > 255) {
                    return false;
                }
            }
        }
        return true;
    }

    private static boolean isIpv6(String h) {
        if (h.indexOf(':') < 0) {
            return false;
        }
        int groups = 0;
        boolean compressed = false;
        String[] parts = h.split(":", -1);
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            if (p.isEmpty()) {
                // "::" appears once; a leading or trailing ':' is allowed only as part of it.
                boolean atEdge = i == 0 || i == parts.length - 1;
                if (!atEdge && compressed) {
                    return false;
                }
                if (!atEdge) {
                    compressed = true;
                }
                continue;
            }
            if (p.length() > 4 || !p.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
                return false;
            }
            groups++;
        }
        if (h.startsWith(":") && !h.startsWith("::") || h.endsWith(":") && !h.endsWith("::")) {
            return false;
        }
        compressed |= h.startsWith("::") || h.endsWith("::");
        return compressed ? groups < 8 : groups == 8;
    }
}
