package dev.fairload.lb.okhttp.internal;

import dev.fairload.lb.Server;
import java.util.concurrent.ConcurrentHashMap;
import okhttp3.HttpUrl;

/**
 * The base URL ({@code scheme://host:port/}) of each server address a route sends to, built once per server, so that pointing
 * a request at a server does not canonicalize the host name again on every call (OkHttp's host canonicalization,
 * IDNA mapping included, is the costliest part of building a URL).
 *
 * <p>Thread-safe and lock-free on reads. Bounded: the map is cleared when it reaches {@value #MAX_SERVERS} entries,
 * which only a pool that churns through that many servers can cause; a cleared entry is simply built again.
 */
final class ServerUrls {
    private static final int MAX_SERVERS = 65_536;

    private final ConcurrentHashMap<String, HttpUrl> bases = new ConcurrentHashMap<>();

    /** {@code url} with the scheme (unless null), host and port of {@code server}; path, query and user kept. */
    HttpUrl rewrite(HttpUrl url, String scheme, Server server) {
        String wanted = scheme != null ? scheme : url.scheme();
        String authority = server.authority(); // cached by Server: no hashing of the whole server
        HttpUrl base = bases.get(authority);
        if (base == null || !base.scheme().equals(wanted)) {
            base = new HttpUrl.Builder()
                    .scheme(wanted)
                    .host(server.host())
                    .port(server.port())
                    .build();
            if (bases.size() >= MAX_SERVERS) {
                bases.clear();
            }
            bases.put(authority, base);
        }
        HttpUrl.Builder b = base.newBuilder().encodedPath(url.encodedPath());
        String query = url.encodedQuery();
        if (query != null) {
            b.encodedQuery(query);
        }
        if (!url.encodedUsername().isEmpty() || !url.encodedPassword().isEmpty()) {
            b.encodedUsername(url.encodedUsername()).encodedPassword(url.encodedPassword());
        }
        return b.build();
    }
}
