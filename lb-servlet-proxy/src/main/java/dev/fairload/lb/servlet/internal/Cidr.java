package dev.fairload.lb.servlet.internal;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/** An address range such as {@code 10.0.0.0/8} or {@code fd00::/8}, matched against literal addresses only. */
public final class Cidr {
    private final byte[] network;
    private final int prefix;

    private Cidr(byte[] network, int prefix) {
        this.network = network;
        this.prefix = prefix;
    }

    /**
     * Parses {@code address[/prefix]}; a bare address is a single host. Never resolves names.
     *
     * @throws IllegalArgumentException naming {@code field} if malformed
     */
    public static Cidr parse(String text, String field) {
        int slash = text.indexOf('/');
        String addressText = slash < 0 ? text : text.substring(0, slash);
        byte[] address = literal(addressText);
        if (address == null) {
            throw new IllegalArgumentException(
                    field + ": '" + text + "' (expected: an IP address or CIDR range such as 10.0.0.0/8)");
        }
        int max = address.length * 8;
        int prefix = max;
        if (slash >= 0) {
            String p = text.substring(slash + 1);
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw new IllegalArgumentException(field + ": '" + text + "' (expected: prefix length 0-" + max + ")");
            }
            prefix = Integer.parseInt(p);
            if (prefix > max) {
                throw new IllegalArgumentException(field + ": '" + text + "' (expected: prefix length 0-" + max + ")");
            }
        }
        return new Cidr(address, prefix);
    }

    /** Whether any range contains the literal address {@code address}; false for anything that is not one. */
    public static boolean anyContains(List<Cidr> ranges, String address) {
        if (ranges.isEmpty() || address == null) {
            return false;
        }
        byte[] bytes = literal(address);
        if (bytes == null) {
            return false;
        }
        for (Cidr range : ranges) {
            if (range.contains(bytes)) {
                return true;
            }
        }
        return false;
    }

    private boolean contains(byte[] address) {
        if (address.length != network.length) {
            return false;
        }
        int full = prefix / 8;
        for (int i = 0; i < full; i++) {
            if (address[i] != network[i]) {
                return false;
            }
        }
        int rest = prefix % 8;
        if (rest == 0) {
            return true;
        }
        int mask = (0xff << (8 - rest)) & 0xff;
        return (address[full] & mask) == (network[full] & mask);
    }

    /** The bytes of an IPv4 or IPv6 literal (IPv4-mapped IPv6 becomes IPv4), or null; no name lookups. */
    static byte[] literal(String text) {
        String t = text.strip();
        if (t.startsWith("[") && t.endsWith("]")) {
            t = t.substring(1, t.length() - 1);
        }
        if (t.isEmpty()) {
            return null;
        }
        boolean ipv4 = t.chars().allMatch(c -> (c >= '0' && c <= '9') || c == '.');
        boolean ipv6 = t.indexOf(':') >= 0
                && t.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == ':' || c == '.' || c == '%');
        if (ipv4) {
            String[] parts = t.split("\\.", -1);
            if (parts.length != 4) {
                return null;
            }
            byte[] b = new byte[4];
            for (int i = 0; i < 4; i++) {
                if (parts[i].isEmpty() || parts[i].length() > 3 || Integer.parseInt(parts[i]) > 255) {
                    return null;
                }
                b[i] = (byte) Integer.parseInt(parts[i]);
            }
            return b;
        }
        if (ipv6) {
            try {
                // A literal containing ':' is never looked up in DNS.
                return InetAddress.getByName(t).getAddress();
            } catch (UnknownHostException | RuntimeException e) {
                return null;
            }
        }
        return null;
    }
}
