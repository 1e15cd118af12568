package dev.fairload.lb.servlet.standalone;

import dev.fairload.lb.dns.DnsServerSource;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Where a standalone proxy's servers come from besides its fixed list: a DNS name, from {@code discovery:} in the
 * YAML file or {@code --discover} on the command line. Validated when parsed, so a bad name or resolver stops the
 * start with one line naming the option.
 */
record DiscoverySpec(
        boolean srv, String name, int port, String resolver, int minRefreshSeconds, int maxRefreshSeconds) {
    static final List<String> DNS_KEYS = List.of("name", "type", "port", "resolver", "minRefresh", "maxRefresh");

    /** The source's name, as its servers show it: {@code dns+srv://NAME} or {@code dns://NAME:PORT}. */
    String sourceName() {
        String relative = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
        return srv ? "dns+srv://" + relative : "dns://" + relative + ":" + port;
    }

    /** Builds the source (not started). */
    DnsServerSource source() {
        DnsServerSource.Builder b = srv ? DnsServerSource.forSrv(name) : DnsServerSource.forAddresses(name, port);
        if (resolver != null) {
            b.resolver(resolver);
        }
        return b.minRefresh(Duration.ofSeconds(minRefreshSeconds))
                .maxRefresh(Duration.ofSeconds(maxRefreshSeconds))
                .build();
    }

    /** Checks every field by building the source; a problem is a one-line {@link UsageException}. */
    DiscoverySpec validated(String where) throws UsageException {
        try {
            source().close();
        } catch (IllegalArgumentException e) {
            throw new UsageException(where + ": " + e.getMessage(), e);
        }
        return this;
    }

    /** {@code dns+srv://NAME} or {@code dns://NAME:PORT}, with the resolver of {@code --dns-server} (or null). */
    static DiscoverySpec parseUri(String where, String text, String resolver) throws UsageException {
        String expected = " (expected: dns+srv://NAME or dns://NAME:PORT)";
        try {
            if (text.startsWith("dns+srv://")) {
                String name = text.substring("dns+srv://".length());
                if (name.isEmpty() || name.contains("/") || name.contains(":")) {
                    throw new UsageException(where + ": '" + text + "'" + expected);
                }
                return new DiscoverySpec(true, name, 0, resolver, 1, 300).validated(where);
            }
            if (text.startsWith("dns://")) {
                URI uri = new URI(text);
                if (uri.getHost() == null
                        || uri.getPort() < 0
                        || !(uri.getRawPath() == null || uri.getRawPath().isEmpty())) {
                    throw new UsageException(where + ": '" + text + "'" + expected);
                }
                return new DiscoverySpec(false, uri.getHost(), uri.getPort(), resolver, 1, 300).validated(where);
            }
        } catch (java.net.URISyntaxException e) {
            throw new UsageException(where + ": '" + text + "'" + expected, e);
        }
        throw new UsageException(where + ": '" + text + "'" + expected);
    }

    /** The {@code discovery:} mapping of the YAML file: {@code dns: {name, type, port, resolver, minRefresh, maxRefresh}}. */
    static DiscoverySpec parseYaml(String where, Object value) throws UsageException {
        if (!(value instanceof Map<?, ?> top) || top.size() != 1) {
            throw new UsageException(where + ": expected one of dns: {...} or kubernetes: {...}");
        }
        Map.Entry<?, ?> only = top.entrySet().iterator().next();
        String kind = String.valueOf(only.getKey());
        if (kind.equals("kubernetes")) {
            throw new UsageException(where + ".kubernetes: not available in this build (expected: dns)");
        }
        if (!kind.equals("dns") || !(only.getValue() instanceof Map<?, ?> dns)) {
            throw new UsageException(where + ": unknown kind '" + kind + "' (expected: dns)");
        }
        String at = where + ".dns";
        for (Object key : dns.keySet()) {
            if (!DNS_KEYS.contains(String.valueOf(key))) {
                throw new UsageException(
                        at + ": unknown key '" + key + "' (expected: " + String.join(", ", DNS_KEYS) + ")");
            }
        }
        if (!(dns.get("name") instanceof String name)) {
            throw new UsageException(at + ".name: missing or not a string (expected: a DNS name)");
        }
        String type = dns.containsKey("type") ? String.valueOf(dns.get("type")) : "A";
        boolean srv;
        switch (type) {
            case "A", "AAAA" -> srv = false;
            case "SRV" -> srv = true;
            default -> throw new UsageException(at + ".type: '" + type + "' (expected: A or SRV)");
        }
        int port = 0;
        if (!srv) {
            if (!(dns.get("port") instanceof Integer p)) {
                throw new UsageException(at + ".port: missing or not an integer (expected: 1-65535 for type A)");
            }
            port = p;
        } else if (dns.containsKey("port")) {
            throw new UsageException(at + ".port: given for type SRV (expected: none, SRV records carry ports)");
        }
        Object resolver = dns.get("resolver");
        if (resolver != null && !(resolver instanceof String)) {
            throw new UsageException(at + ".resolver: " + resolver + " (expected: HOST:PORT)");
        }
        int min = seconds(at + ".minRefresh", dns.get("minRefresh"), 1);
        int max = seconds(at + ".maxRefresh", dns.get("maxRefresh"), 300);
        return new DiscoverySpec(srv, name, port, (String) resolver, min, max).validated(at);
    }

    private static int seconds(String where, Object value, int otherwise) throws UsageException {
        if (value == null) {
            return otherwise;
        }
        if (!(value instanceof Integer i) || i < 1 || i > 86_400) {
            throw new UsageException(where + ": " + value + " (expected: 1-86400 seconds)");
        }
        return i;
    }
}
