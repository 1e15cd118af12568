package dev.fairload.lb.servlet;

import dev.fairload.lb.Strategy;
import dev.fairload.lb.servlet.internal.Cidr;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The reverse proxy's settings: the product brief's configuration fields ({@code algorithm},
 * {@code healthCheckEnabled}, {@code healthCheckInterval}, {@code healthCheckTimeout}, {@code maxRetries},
 * {@code sessionPersistence}, {@code sslTermination}, {@code sslCertPath}, {@code sslKeyPath}) and the proxy's
 * own ({@code healthCheckFastInterval}, {@code sslPort}, cookies, header policy, upstream timeouts).
 *
 * <p>Immutable and thread-safe. Build one with {@link #builder()}; {@link #toBuilder()} makes variants. Each
 * setter validates at once and its exception names the field and the allowed values, for example {@code
 * "maxRetries: 12 (expected: 0-10)"}; {@link Builder#build()} checks the rules that span fields. Field names are
 * the ones used in JSON, YAML and the admin API: {@link #toMap()} and {@link Builder#set(String, Object)} speak
 * them, so a partial update ({@code PUT /api/config}) is {@code current.toBuilder().setAll(fields).build()}.
 *
 * <p>A running proxy takes a new configuration through {@link ProxyRuntime#update(ProxyConfig)}.
 */
public final class ProxyConfig {
    /** Field names, in the order {@link #toMap()} lists them. */
    public static final List<String> FIELDS = List.of(
            "algorithm",
            "healthCheckEnabled",
            "healthCheckInterval",
            "healthCheckFastInterval",
            "healthCheckTimeout",
            "maxRetries",
            "sessionPersistence",
            "sslTermination",
            "sslCertPath",
            "sslKeyPath",
            "sslPort",
            "httpsRedirect",
            "sessionCookieName",
            "stickyCookie",
            "stickyCookieName",
            "preserveHost",
            "trustedProxies",
            "connectTimeoutMillis",
            "readTimeoutMillis",
            "writeTimeoutMillis",
            "upstreamTls",
            "upstreamTrustStorePath",
            "upstreamTlsInsecure",
            "maxConcurrentRequests",
            "maxRequestsPerServer",
            "maxQueuedRequests",
            "maxRequestHeaderSize",
            "maxRequestHeaders",
            "maxUriLength",
            "requestHeaderTimeoutMillis",
            "idleTimeoutMillis",
            "responseHeadersTimeoutMillis",
            "requestTimeoutMillis",
            "retryAfterSeconds",
            "retryOnStatus",
            "baseEjectionTime",
            "upstreamIdleTimeoutMillis");

    public static final int MAX_RETRIES_LIMIT = 10;

    private final String algorithm;
    private final boolean healthCheckEnabled;
    private final int healthCheckInterval;
    private final int healthCheckFastInterval;
    private final int healthCheckTimeout;
    private final int maxRetries;
    private final boolean sessionPersistence;
    private final boolean sslTermination;
    private final String sslCertPath;
    private final String sslKeyPath;
    private final int sslPort;
    private final boolean httpsRedirect;
    private final String sessionCookieName;
    private final boolean stickyCookie;
    private final String stickyCookieName;
    private final boolean preserveHost;
    private final List<String> trustedProxies;
    private final int connectTimeoutMillis;
    private final int readTimeoutMillis;
    private final int writeTimeoutMillis;
    private final boolean upstreamTls;
    private final String upstreamTrustStorePath;
    private final boolean upstreamTlsInsecure;
    private final int maxConcurrentRequests;
    private final int maxRequestsPerServer;
    private final int maxQueuedRequests;
    private final int maxRequestHeaderSize;
    private final int maxRequestHeaders;
    private final int maxUriLength;
    private final int requestHeaderTimeoutMillis;
    private final int idleTimeoutMillis;
    private final int responseHeadersTimeoutMillis;
    private final int requestTimeoutMillis;
    private final int retryAfterSeconds;
    private final List<Integer> retryOnStatus;
    private final int baseEjectionTime;
    private final int upstreamIdleTimeoutMillis;

    private ProxyConfig(Builder b) {
        this.algorithm = b.algorithm;
        this.healthCheckEnabled = b.healthCheckEnabled;
        this.healthCheckInterval = b.healthCheckInterval;
        this.healthCheckFastInterval = b.healthCheckFastInterval;
        this.healthCheckTimeout = b.healthCheckTimeout;
        this.maxRetries = b.maxRetries;
        this.sessionPersistence = b.sessionPersistence;
        this.sslTermination = b.sslTermination;
        this.sslCertPath = b.sslCertPath;
        this.sslKeyPath = b.sslKeyPath;
        this.sslPort = b.sslPort;
        this.httpsRedirect = b.httpsRedirect;
        this.sessionCookieName = b.sessionCookieName;
        this.stickyCookie = b.stickyCookie;
        this.stickyCookieName = b.stickyCookieName;
        this.preserveHost = b.preserveHost;
        this.trustedProxies = List.copyOf(b.trustedProxies);
        this.connectTimeoutMillis = b.connectTimeoutMillis;
        this.readTimeoutMillis = b.readTimeoutMillis;
        this.writeTimeoutMillis = b.writeTimeoutMillis;
        this.upstreamTls = b.upstreamTls;
        this.upstreamTrustStorePath = b.upstreamTrustStorePath;
        this.upstreamTlsInsecure = b.upstreamTlsInsecure;
        this.maxConcurrentRequests = b.maxConcurrentRequests;
        this.maxRequestsPerServer = b.maxRequestsPerServer;
        this.maxQueuedRequests = b.maxQueuedRequests;
        this.maxRequestHeaderSize = b.maxRequestHeaderSize;
        this.maxRequestHeaders = b.maxRequestHeaders;
        this.maxUriLength = b.maxUriLength;
        this.requestHeaderTimeoutMillis = b.requestHeaderTimeoutMillis;
        this.idleTimeoutMillis = b.idleTimeoutMillis;
        this.responseHeadersTimeoutMillis = b.responseHeadersTimeoutMillis;
        this.requestTimeoutMillis = b.requestTimeoutMillis;
        this.retryAfterSeconds = b.retryAfterSeconds;
        this.retryOnStatus = List.copyOf(b.retryOnStatus);
        this.baseEjectionTime = b.baseEjectionTime;
        this.upstreamIdleTimeoutMillis = b.upstreamIdleTimeoutMillis;
    }

    /** A builder holding the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** The configuration with every field at its default. */
    public static ProxyConfig defaults() {
        return new Builder().build();
    }

    /** The {@link Strategy} name, for example {@code round_robin}. Default {@code round_robin}. */
    public String algorithm() {
        return algorithm;
    }

    /** Whether active health checks run. Default true. */
    public boolean healthCheckEnabled() {
        return healthCheckEnabled;
    }

    /** Seconds between active health checks of a healthy server, 1-3600. Default 30. */
    public int healthCheckInterval() {
        return healthCheckInterval;
    }

    /**
     * Seconds between active health checks of a server that is down, not yet checked, or changing state (between
     * its first failure and {@code fall}, or first success and {@code rise}), 1-3600; a value above {@link
     * #healthCheckInterval()} acts as it. Default 1, so a backend that starts late or restarts is back in rotation
     * within about 2 s of answering its checks.
     */
    public int healthCheckFastInterval() {
        return healthCheckFastInterval;
    }

    /** Seconds an active health check may take, 1-300; a check never waits longer than its interval. Default 5. */
    public int healthCheckTimeout() {
        return healthCheckTimeout;
    }

    /** How many other servers a failed request may be retried on, 0-10. Default 3. */
    public int maxRetries() {
        return maxRetries;
    }

    /** Whether sticky sessions are on (application cookie, and the proxy's own if {@link #stickyCookie()}). */
    public boolean sessionPersistence() {
        return sessionPersistence;
    }

    /** Whether the standalone proxy also listens with TLS on {@link #sslPort()}. Default false. */
    public boolean sslTermination() {
        return sslTermination;
    }

    /**
     * Where the TLS listener's certificates come from, or null: a PEM file (certificate chain, leaf first), a PKCS#12
     * keystore ({@code .p12} or {@code .pfx}), or a directory of {@code NAME.crt} (or {@code NAME.pem}) and {@code
     * NAME.key} pairs chosen by SNI. Replacing the files is picked up while running. See {@code docs/tls.md}.
     */
    public String sslCertPath() {
        return sslCertPath;
    }

    /**
     * The private key (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC, unencrypted) of a PEM {@link #sslCertPath()}; for a PKCS#12
     * keystore, a file holding its password (none: an empty password); unused for a directory. Null when not needed.
     */
    public String sslKeyPath() {
        return sslKeyPath;
    }

    /** Port of the TLS listener when {@link #sslTermination()} is on. Default 8443. */
    public int sslPort() {
        return sslPort;
    }

    /**
     * Whether plain HTTP requests on the proxy port are redirected (308) to {@code https://} on {@link #sslPort()}
     * while {@link #sslTermination()} is on. Default false.
     */
    public boolean httpsRedirect() {
        return httpsRedirect;
    }

    /** Name of the application's session cookie that sticky sessions follow. Default {@code sessionId}. */
    public String sessionCookieName() {
        return sessionCookieName;
    }

    /**
     * Whether the proxy sets its own cookie naming an opaque token of the server that answered (needs no table and
     * works across proxy instances). Only with {@link #sessionPersistence()}. Default false.
     */
    public boolean stickyCookie() {
        return stickyCookie;
    }

    /** Name of the proxy's own sticky cookie. Default {@code FAIRLOAD_STICKY}. */
    public String stickyCookieName() {
        return stickyCookieName;
    }

    /** Whether the client's {@code Host} header is forwarded as is (true, default) or replaced by the server's. */
    public boolean preserveHost() {
        return preserveHost;
    }

    /**
     * Address ranges (CIDR, IPv4 or IPv6; a bare address is a /32 or /128) of proxies in front of this one whose
     * {@code X-Forwarded-*} headers are believed. From any other peer those headers are replaced. Default none.
     */
    public List<String> trustedProxies() {
        return trustedProxies;
    }

    /** Upstream connect timeout in milliseconds, 1-600000. Default 5000. */
    public int connectTimeoutMillis() {
        return connectTimeoutMillis;
    }

    /**
     * Upstream read timeout in milliseconds (the longest silence while waiting for the response or its body;
     * answered with 504 before the response starts), 0 for none, at most 3600000. Default 60000.
     */
    public int readTimeoutMillis() {
        return readTimeoutMillis;
    }

    /** Upstream write timeout in milliseconds, 0 for none, at most 3600000. Default 60000. */
    public int writeTimeoutMillis() {
        return writeTimeoutMillis;
    }

    /** Whether backends are reached over {@code https} (certificates verified, see below). Default false. */
    public boolean upstreamTls() {
        return upstreamTls;
    }

    /**
     * A PEM bundle of CA certificates that backend certificates are verified against, instead of the JDK's trust
     * store, or null for the JDK's. Default null.
     */
    public String upstreamTrustStorePath() {
        return upstreamTrustStorePath;
    }

    /**
     * Whether backend certificates and host names go unverified (only for testing: it allows anyone on the path to
     * read and change the traffic; logged as a warning). Default false.
     */
    public boolean upstreamTlsInsecure() {
        return upstreamTlsInsecure;
    }

    /** Most requests the proxy handles at once, over all servers; beyond it a request is answered 503 with {@code Retry-After} at once, never queued. 1-1000000. Default 1024. */
    public int maxConcurrentRequests() {
        return maxConcurrentRequests;
    }

    /** Most requests in flight to one server ({@code LoadBalancer.maxInFlightPerServer}); a full server is passed over for one with room, and when every server is full the answer is 503 with {@code Retry-After} at once. 0 for no limit, at most 1000000. Default 256. */
    public int maxRequestsPerServer() {
        return maxRequestsPerServer;
    }

    /** Standalone proxy: most tasks (new connections, requests) waiting for one of the container's threads; beyond it the connection is closed rather than queued. 1-1000000. Default 256. Read at start. */
    public int maxQueuedRequests() {
        return maxQueuedRequests;
    }

    /** Standalone proxy: most bytes of a request's line and headers together; beyond it the answer is 431 (414 if the request line alone is too long). 1024-1048576. Default 16384. Read at start. */
    public int maxRequestHeaderSize() {
        return maxRequestHeaderSize;
    }

    /** Most header fields in a request; beyond it the answer is 431. 1-10000. Default 100. */
    public int maxRequestHeaders() {
        return maxRequestHeaders;
    }

    /** Most characters in a request target (path and query); beyond it the answer is 414. 256-1048576. Default 8192. */
    public int maxUriLength() {
        return maxUriLength;
    }

    /** Standalone proxy: time a new connection gets to deliver its first request's headers; a client still sending them (slowloris) is disconnected. 0 for none, at most 3600000. Default 10000. Read at start. */
    public int requestHeaderTimeoutMillis() {
        return requestHeaderTimeoutMillis;
    }

    /** Standalone proxy: the longest a client connection may stay silent, idle between requests or in the middle of one (a stalled body); it is then closed. 1-3600000. Default 30000. Read at start. */
    public int idleTimeoutMillis() {
        return idleTimeoutMillis;
    }

    /** Upstream, per attempt: the longest wait for a server's response headers, counted from sending the request; the attempt then fails as a timeout (counted against the server; retried elsewhere for idempotent requests, else 504). 0 for none, at most 3600000. Default 15000. */
    public int responseHeadersTimeoutMillis() {
        return responseHeadersTimeoutMillis;
    }

    /** Upstream, per request: the longest a request may take from the first pick to the end of the response body, retries included; then it is cancelled (504 if the response has not started). Streams and long downloads need a larger value or 0 for none. At most 86400000. Default 30000. */
    public int requestTimeoutMillis() {
        return requestTimeoutMillis;
    }

    /** The {@code Retry-After} value, in seconds, of the proxy's own 503 answers when it is over a limit. 0-3600. Default 1. */
    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }

    /**
     * Upstream response statuses retried on another server for idempotent requests (like a failure after sending:
     * within {@code maxRetries} and the retry budget), in ascending order; each 500-599. Default [502, 503, 504]. Add
     * 500 when the backends' 500 means a broken instance rather than a bad request.
     */
    public List<Integer> retryOnStatus() {
        return retryOnStatus;
    }

    /**
     * Passive health: seconds a server is held out after {@code consecutiveFailures} failures in a row (times the
     * number of ejections in a row, at most 300 s or this value if larger). A server whose active checks pass
     * {@code rise} times in a row after the ejection began gets its trial request sooner. 1-3600. Default 30.
     */
    public int baseEjectionTime() {
        return baseEjectionTime;
    }

    /**
     * Upstream: how long an idle keep-alive connection to a backend is kept for reuse, in milliseconds. Keep it below
     * the backends' own idle timeout (5 s for Node.js, Apache httpd and uvicorn), so that a request is not written
     * to a connection the backend is closing: an idempotent request would be sent again, but a POST would get a 502,
     * since the proxy cannot know whether the backend acted on it. 100-3600000. Default 4000. Applies live: a new
     * value starts a new connection pool.
     */
    public int upstreamIdleTimeoutMillis() {
        return upstreamIdleTimeoutMillis;
    }

    /** The strategy named by {@link #algorithm()}. */
    public Strategy strategy() {
        return Strategy.byName(algorithm);
    }

    /**
     * Every field by its JSON name, in {@link #FIELDS} order. Values are strings, booleans, integers, null, a
     * list of strings ({@code trustedProxies}) or a list of integers ({@code retryOnStatus}). The map is
     * unmodifiable.
     */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("algorithm", algorithm);
        m.put("healthCheckEnabled", healthCheckEnabled);
        m.put("healthCheckInterval", healthCheckInterval);
        m.put("healthCheckFastInterval", healthCheckFastInterval);
        m.put("healthCheckTimeout", healthCheckTimeout);
        m.put("maxRetries", maxRetries);
        m.put("sessionPersistence", sessionPersistence);
        m.put("sslTermination", sslTermination);
        m.put("sslCertPath", sslCertPath);
        m.put("sslKeyPath", sslKeyPath);
        m.put("sslPort", sslPort);
        m.put("httpsRedirect", httpsRedirect);
        m.put("sessionCookieName", sessionCookieName);
        m.put("stickyCookie", stickyCookie);
        m.put("stickyCookieName", stickyCookieName);
        m.put("preserveHost", preserveHost);
        m.put("trustedProxies", trustedProxies);
        m.put("connectTimeoutMillis", connectTimeoutMillis);
        m.put("readTimeoutMillis", readTimeoutMillis);
        m.put("writeTimeoutMillis", writeTimeoutMillis);
        m.put("upstreamTls", upstreamTls);
        m.put("upstreamTrustStorePath", upstreamTrustStorePath);
        m.put("upstreamTlsInsecure", upstreamTlsInsecure);
        m.put("maxConcurrentRequests", maxConcurrentRequests);
        m.put("maxRequestsPerServer", maxRequestsPerServer);
        m.put("maxQueuedRequests", maxQueuedRequests);
        m.put("maxRequestHeaderSize", maxRequestHeaderSize);
        m.put("maxRequestHeaders", maxRequestHeaders);
        m.put("maxUriLength", maxUriLength);
        m.put("requestHeaderTimeoutMillis", requestHeaderTimeoutMillis);
        m.put("idleTimeoutMillis", idleTimeoutMillis);
        m.put("responseHeadersTimeoutMillis", responseHeadersTimeoutMillis);
        m.put("requestTimeoutMillis", requestTimeoutMillis);
        m.put("retryAfterSeconds", retryAfterSeconds);
        m.put("retryOnStatus", retryOnStatus);
        m.put("baseEjectionTime", baseEjectionTime);
        m.put("upstreamIdleTimeoutMillis", upstreamIdleTimeoutMillis);
        return Collections.unmodifiableMap(m);
    }

    /** A builder holding this configuration's values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.algorithm = algorithm;
        b.healthCheckEnabled = healthCheckEnabled;
        b.healthCheckInterval = healthCheckInterval;
        b.healthCheckFastInterval = healthCheckFastInterval;
        b.healthCheckTimeout = healthCheckTimeout;
        b.maxRetries = maxRetries;
        b.sessionPersistence = sessionPersistence;
        b.sslTermination = sslTermination;
        b.sslCertPath = sslCertPath;
        b.sslKeyPath = sslKeyPath;
        b.sslPort = sslPort;
        b.httpsRedirect = httpsRedirect;
        b.sessionCookieName = sessionCookieName;
        b.stickyCookie = stickyCookie;
        b.stickyCookieName = stickyCookieName;
        b.preserveHost = preserveHost;
        b.trustedProxies = new ArrayList<>(trustedProxies);
        b.connectTimeoutMillis = connectTimeoutMillis;
        b.readTimeoutMillis = readTimeoutMillis;
        b.writeTimeoutMillis = writeTimeoutMillis;
        b.upstreamTls = upstreamTls;
        b.upstreamTrustStorePath = upstreamTrustStorePath;
        b.upstreamTlsInsecure = upstreamTlsInsecure;
        b.maxConcurrentRequests = maxConcurrentRequests;
        b.maxRequestsPerServer = maxRequestsPerServer;
        b.maxQueuedRequests = maxQueuedRequests;
        b.maxRequestHeaderSize = maxRequestHeaderSize;
        b.maxRequestHeaders = maxRequestHeaders;
        b.maxUriLength = maxUriLength;
        b.requestHeaderTimeoutMillis = requestHeaderTimeoutMillis;
        b.idleTimeoutMillis = idleTimeoutMillis;
        b.responseHeadersTimeoutMillis = responseHeadersTimeoutMillis;
        b.requestTimeoutMillis = requestTimeoutMillis;
        b.retryAfterSeconds = retryAfterSeconds;
        b.retryOnStatus = retryOnStatus;
        b.baseEjectionTime = baseEjectionTime;
        b.upstreamIdleTimeoutMillis = upstreamIdleTimeoutMillis;
        return b;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ProxyConfig other && toMap().equals(other.toMap());
    }

    @Override
    public int hashCode() {
        return toMap().hashCode();
    }

    @Override
    public String toString() {
        return "ProxyConfig" + toMap();
    }

    /**
     * Validating builder for {@link ProxyConfig}. Each setter throws {@link IllegalArgumentException} naming the
     * field and the allowed values, and leaves the builder unchanged. Not thread-safe; {@link #build()} may be
     * called again.
     */
    public static final class Builder {
        private String algorithm = "round_robin";
        private boolean healthCheckEnabled = true;
        private int healthCheckInterval = 30;
        private int healthCheckFastInterval = 1;
        private int healthCheckTimeout = 5;
        private int maxRetries = 3;
        private boolean sessionPersistence = false;
        private boolean sslTermination = false;
        private String sslCertPath;
        private String sslKeyPath;
        private int sslPort = 8443;
        private boolean httpsRedirect = false;
        private String sessionCookieName = "sessionId";
        private boolean stickyCookie = false;
        private String stickyCookieName = "FAIRLOAD_STICKY";
        private boolean preserveHost = true;
        private List<String> trustedProxies = new ArrayList<>();
        private int connectTimeoutMillis = 5_000;
        private int readTimeoutMillis = 60_000;
        private int writeTimeoutMillis = 60_000;
        private boolean upstreamTls = false;
        private String upstreamTrustStorePath;
        private boolean upstreamTlsInsecure = false;
        private int maxConcurrentRequests = 1024;
        private int maxRequestsPerServer = 256;
        private int maxQueuedRequests = 256;
        private int maxRequestHeaderSize = 16_384;
        private int maxRequestHeaders = 100;
        private int maxUriLength = 8192;
        private int requestHeaderTimeoutMillis = 10_000;
        private int idleTimeoutMillis = 30_000;
        private int responseHeadersTimeoutMillis = 15_000;
        private int requestTimeoutMillis = 30_000;
        private int retryAfterSeconds = 1;
        private List<Integer> retryOnStatus = List.of(502, 503, 504);
        private int baseEjectionTime = 30;
        private int upstreamIdleTimeoutMillis = 4_000;
        /** Fields given through {@link #set}: an error about two fields names the one the caller sent. */
        private final java.util.Set<String> sent = new java.util.HashSet<>();

        private Builder() {}

        /** @throws IllegalArgumentException listing the valid names if {@code algorithm} names no strategy */
        public Builder algorithm(String algorithm) {
            this.algorithm = Strategy.byName(algorithm).name();
            return this;
        }

        public Builder healthCheckEnabled(boolean enabled) {
            this.healthCheckEnabled = enabled;
            return this;
        }

        /** @throws IllegalArgumentException if outside 1-3600 seconds */
        public Builder healthCheckInterval(int seconds) {
            this.healthCheckInterval = range("healthCheckInterval", seconds, 1, 3600);
            return this;
        }

        /** @throws IllegalArgumentException if outside 1-3600 seconds */
        public Builder healthCheckFastInterval(int seconds) {
            this.healthCheckFastInterval = range("healthCheckFastInterval", seconds, 1, 3600);
            return this;
        }

        /** @throws IllegalArgumentException if outside 1-300 seconds */
        public Builder healthCheckTimeout(int seconds) {
            this.healthCheckTimeout = range("healthCheckTimeout", seconds, 1, 300);
            return this;
        }

        /** @throws IllegalArgumentException if outside 0-10 */
        public Builder maxRetries(int maxRetries) {
            this.maxRetries = range("maxRetries", maxRetries, 0, MAX_RETRIES_LIMIT);
            return this;
        }

        public Builder sessionPersistence(boolean on) {
            this.sessionPersistence = on;
            return this;
        }

        /** Needs {@link #sslCertPath(String)} by {@link #build()} time. */
        public Builder sslTermination(boolean on) {
            this.sslTermination = on;
            return this;
        }

        /** @param path a file path, or null for none */
        public Builder sslCertPath(String path) {
            this.sslCertPath = path(path, "sslCertPath");
            return this;
        }

        /** @param path a file path, or null for none */
        public Builder sslKeyPath(String path) {
            this.sslKeyPath = path(path, "sslKeyPath");
            return this;
        }

        /** @throws IllegalArgumentException if outside 1-65535 */
        public Builder sslPort(int port) {
            this.sslPort = range("sslPort", port, 1, 65535);
            return this;
        }

        public Builder httpsRedirect(boolean on) {
            this.httpsRedirect = on;
            return this;
        }

        /** @throws IllegalArgumentException if not a cookie name (RFC 6265 token, 1-64 characters) */
        public Builder sessionCookieName(String name) {
            this.sessionCookieName = cookieName("sessionCookieName", name);
            return this;
        }

        public Builder stickyCookie(boolean on) {
            this.stickyCookie = on;
            return this;
        }

        /** @throws IllegalArgumentException if not a cookie name (RFC 6265 token, 1-64 characters) */
        public Builder stickyCookieName(String name) {
            this.stickyCookieName = cookieName("stickyCookieName", name);
            return this;
        }

        public Builder preserveHost(boolean on) {
            this.preserveHost = on;
            return this;
        }

        /** @throws IllegalArgumentException naming the first entry that is not an address or CIDR range */
        public Builder trustedProxies(List<String> ranges) {
            Objects.requireNonNull(ranges, "trustedProxies");
            List<String> copy = new ArrayList<>(ranges.size());
            for (String range : ranges) {
                if (range == null) {
                    throw new IllegalArgumentException("trustedProxies: null entry (expected: CIDR ranges)");
                }
                Cidr.parse(range.strip(), "trustedProxies");
                copy.add(range.strip());
            }
            this.trustedProxies = copy;
            return this;
        }

        /** @throws IllegalArgumentException if outside 1-600000 */
        public Builder connectTimeoutMillis(int millis) {
            this.connectTimeoutMillis = range("connectTimeoutMillis", millis, 1, 600_000);
            return this;
        }

        /** @throws IllegalArgumentException if outside 0-3600000 */
        public Builder readTimeoutMillis(int millis) {
            this.readTimeoutMillis = range("readTimeoutMillis", millis, 0, 3_600_000);
            return this;
        }

        /** @throws IllegalArgumentException if outside 0-3600000 */
        public Builder writeTimeoutMillis(int millis) {
            this.writeTimeoutMillis = range("writeTimeoutMillis", millis, 0, 3_600_000);
            return this;
        }

        public Builder upstreamTls(boolean on) {
            this.upstreamTls = on;
            return this;
        }

        /** @param path a PEM file of CA certificates, or null for the JDK's trust store */
        public Builder upstreamTrustStorePath(String path) {
            this.upstreamTrustStorePath = path(path, "upstreamTrustStorePath");
            return this;
        }

        /** Turns off verification of backend certificates; see {@link ProxyConfig#upstreamTlsInsecure()}. */
        public Builder upstreamTlsInsecure(boolean on) {
            this.upstreamTlsInsecure = on;
            return this;
        }

        /** @throws IllegalArgumentException if outside 1-1000000 */
        public Builder maxConcurrentRequests(int value) {
            this.maxConcurrentRequests = range("maxConcurrentRequests", value, 1, 1_000_000);
            return this;
        }

        /** @throws IllegalArgumentException if outside 0-1000000 */
        public Builder maxRequestsPerServer(int value) {
            this.maxRequestsPerServer = range("maxRequestsPerServer", value, 0, 1_000_000);
            return this;
        }

        /** @throws IllegalArgumentException if outside 1-1000000 */
        public Builder maxQueuedRequests(int value) {
            this.maxQueuedRequests = range("maxQueuedRequests", value, 1, 1_000_000);
            return this;
        }

        /** @throws IllegalArgumentException if outside 1024-1048576 */
        public Builder maxRequestHeaderSize(int value) {
            this.maxRequestHeaderSize = range("maxRequestHeaderSize", value, 1024, 1_048_576);
            return this;
        }

        /** @throws IllegalArgumentException if outside 1-10000 */
        public Builder maxRequestHeaders(int value) {
            this.maxRequestHeaders = range("maxRequestHeaders", value, 1, 10_000);
            return this;
        }

        /** @throws IllegalArgumentException if outside 256-1048576 */
        public Builder maxUriLength(int value) {
            this.maxUriLength = range("maxUriLength", value, 256, 1_048_576);
            return this;
        }

        /** @throws IllegalArgumentException if outside 0-3600000 */
        public Builder requestHeaderTimeoutMillis(int value) {
            this.requestHeaderTimeoutMillis = range("requestHeaderTimeoutMillis", value, 0, 3_600_000);
            return this;
        }

        /** @throws IllegalArgumentException if outside 1-3600000 */
        public Builder idleTimeoutMillis(int value) {
            this.idleTimeoutMillis = range("idleTimeoutMillis", value, 1, 3_600_000);
            return this;
        }

        /** @throws IllegalArgumentException if outside 0-3600000 */
        public Builder responseHeadersTimeoutMillis(int value) {
            this.responseHeadersTimeoutMillis = range("responseHeadersTimeoutMillis", value, 0, 3_600_000);
            return this;
        }

        /** @throws IllegalArgumentException if outside 0-86400000 */
        public Builder requestTimeoutMillis(int value) {
            this.requestTimeoutMillis = range("requestTimeoutMillis", value, 0, 86_400_000);
            return this;
        }

        /** @throws IllegalArgumentException if outside 0-3600 */
        public Builder retryAfterSeconds(int value) {
            this.retryAfterSeconds = range("retryAfterSeconds", value, 0, 3600);
            return this;
        }

        /** Kept sorted, without repeats. @throws IllegalArgumentException if a status is outside 500-599 */
        public Builder retryOnStatus(List<Integer> statuses) {
            Objects.requireNonNull(statuses, "retryOnStatus");
            java.util.TreeSet<Integer> sorted = new java.util.TreeSet<>();
            for (Integer status : statuses) {
                if (status == null) {
                    throw new IllegalArgumentException("retryOnStatus: null entry (expected: statuses 500-599)");
                }
                sorted.add(range("retryOnStatus", status, 500, 599));
            }
            this.retryOnStatus = List.copyOf(sorted);
            return this;
        }

        /** @throws IllegalArgumentException if outside 1-3600 */
        public Builder baseEjectionTime(int seconds) {
            this.baseEjectionTime = range("baseEjectionTime", seconds, 1, 3600);
            return this;
        }

        /** @throws IllegalArgumentException if outside 100-3600000 */
        public Builder upstreamIdleTimeoutMillis(int value) {
            this.upstreamIdleTimeoutMillis = range("upstreamIdleTimeoutMillis", value, 100, 3_600_000);
            return this;
        }

        /**
         * Sets one field by its JSON name, with a JSON-like value: string, boolean, integer ({@link Integer},
         * {@link Long}, {@link Short} or {@link Byte}; a number written with a fraction or an exponent, such as
         * {@code 2.0} or {@code 3e0}, is refused as every integer field of the admin API refuses it), null for the
         * optional paths, a list of strings for {@code
         * trustedProxies}, or a list of integers for {@code retryOnStatus}. Strings are not converted to numbers or booleans.
         *
         * @throws IllegalArgumentException naming the field if it is unknown or the value has the wrong type or
         *     range
         */
        public Builder set(String field, Object value) {
            Objects.requireNonNull(field, "field");
            if (FIELDS.contains(field)) {
                sent.add(field);
            }
            switch (field) {
                case "algorithm" -> algorithm(string(field, value));
                case "healthCheckEnabled" -> healthCheckEnabled(bool(field, value));
                case "healthCheckInterval" -> healthCheckInterval(integer(field, value));
                case "healthCheckFastInterval" -> healthCheckFastInterval(integer(field, value));
                case "healthCheckTimeout" -> healthCheckTimeout(integer(field, value));
                case "maxRetries" -> maxRetries(integer(field, value));
                case "sessionPersistence" -> sessionPersistence(bool(field, value));
                case "sslTermination" -> sslTermination(bool(field, value));
                case "sslCertPath" -> sslCertPath(value == null ? null : string(field, value));
                case "sslKeyPath" -> sslKeyPath(value == null ? null : string(field, value));
                case "sslPort" -> sslPort(integer(field, value));
                case "httpsRedirect" -> httpsRedirect(bool(field, value));
                case "sessionCookieName" -> sessionCookieName(string(field, value));
                case "stickyCookie" -> stickyCookie(bool(field, value));
                case "stickyCookieName" -> stickyCookieName(string(field, value));
                case "preserveHost" -> preserveHost(bool(field, value));
                case "trustedProxies" -> trustedProxies(stringList(field, value));
                case "connectTimeoutMillis" -> connectTimeoutMillis(integer(field, value));
                case "readTimeoutMillis" -> readTimeoutMillis(integer(field, value));
                case "writeTimeoutMillis" -> writeTimeoutMillis(integer(field, value));
                case "upstreamTls" -> upstreamTls(bool(field, value));
                case "upstreamTrustStorePath" -> upstreamTrustStorePath(value == null ? null : string(field, value));
                case "upstreamTlsInsecure" -> upstreamTlsInsecure(bool(field, value));
                case "maxConcurrentRequests" -> maxConcurrentRequests(integer(field, value));
                case "maxRequestsPerServer" -> maxRequestsPerServer(integer(field, value));
                case "maxQueuedRequests" -> maxQueuedRequests(integer(field, value));
                case "maxRequestHeaderSize" -> maxRequestHeaderSize(integer(field, value));
                case "maxRequestHeaders" -> maxRequestHeaders(integer(field, value));
                case "maxUriLength" -> maxUriLength(integer(field, value));
                case "requestHeaderTimeoutMillis" -> requestHeaderTimeoutMillis(integer(field, value));
                case "idleTimeoutMillis" -> idleTimeoutMillis(integer(field, value));
                case "responseHeadersTimeoutMillis" -> responseHeadersTimeoutMillis(integer(field, value));
                case "requestTimeoutMillis" -> requestTimeoutMillis(integer(field, value));
                case "retryAfterSeconds" -> retryAfterSeconds(integer(field, value));
                case "retryOnStatus" -> retryOnStatus(integerList(field, value));
                case "baseEjectionTime" -> baseEjectionTime(integer(field, value));
                case "upstreamIdleTimeoutMillis" -> upstreamIdleTimeoutMillis(integer(field, value));
                default ->
                    throw new IllegalArgumentException(
                            field + ": unknown field (expected one of: " + String.join(", ", FIELDS) + ")");
            }
            return this;
        }

        /**
         * Sets every entry with {@link #set(String, Object)}, in the map's order. On failure the builder may hold
         * the entries before the failing one: build from a fresh {@link ProxyConfig#toBuilder()} for all-or-nothing
         * updates.
         */
        public Builder setAll(Map<String, ?> fields) {
            Objects.requireNonNull(fields, "fields");
            for (Map.Entry<String, ?> e : fields.entrySet()) {
                set(e.getKey(), e.getValue());
            }
            return this;
        }

        /**
         * @throws IllegalArgumentException if the fields disagree: {@code sslTermination} without {@code
         *     sslCertPath}, the two cookie names equal, {@code upstreamTlsInsecure} together with {@code
         *     upstreamTrustStorePath}, or {@code responseHeadersTimeoutMillis} above {@code requestTimeoutMillis}
         */
        public ProxyConfig build() {
            if (sslTermination && sslCertPath == null) {
                throw blame(
                        "sslCertPath",
                        "sslCertPath: missing (expected: a certificate file when sslTermination is true)",
                        "sslTermination",
                        "sslTermination: true (expected: false while sslCertPath is not set)");
            }
            if (stickyCookieName.equalsIgnoreCase(sessionCookieName)) {
                throw blame(
                        "stickyCookieName",
                        "stickyCookieName: '" + stickyCookieName + "' (expected: different from sessionCookieName)",
                        "sessionCookieName",
                        "sessionCookieName: '" + sessionCookieName + "' (expected: different from stickyCookieName)");
            }
            if (upstreamTlsInsecure && upstreamTrustStorePath != null) {
                throw blame(
                        "upstreamTlsInsecure",
                        "upstreamTlsInsecure: true (expected: false when upstreamTrustStorePath is set;"
                                + " a trust store is pointless without verification)",
                        "upstreamTrustStorePath",
                        "upstreamTrustStorePath: '" + upstreamTrustStorePath
                                + "' (expected: not set while upstreamTlsInsecure is true)");
            }
            if (requestTimeoutMillis > 0
                    && responseHeadersTimeoutMillis > 0
                    && responseHeadersTimeoutMillis > requestTimeoutMillis) {
                throw blame(
                        "responseHeadersTimeoutMillis",
                        "responseHeadersTimeoutMillis: " + responseHeadersTimeoutMillis
                                + " (expected: at most requestTimeoutMillis, " + requestTimeoutMillis + ")",
                        "requestTimeoutMillis",
                        "requestTimeoutMillis: " + requestTimeoutMillis
                                + " (expected: 0 or at least responseHeadersTimeoutMillis, "
                                + responseHeadersTimeoutMillis + ")");
            }
            return new ProxyConfig(this);
        }

        /**
         * The error for two fields that disagree: about {@code first}, unless the caller sent only {@code second}
         * through {@link #set} (an error names a field the caller sent, never one it did not).
         */
        private IllegalArgumentException blame(String first, String firstMessage, String second, String secondMessage) {
            boolean onlySecond = sent.contains(second) && !sent.contains(first);
            return new IllegalArgumentException(onlySecond ? secondMessage : firstMessage);
        }

        private static int range(String field, int value, int min, int max) {
            if (value < min || value > max) {
                throw new IllegalArgumentException(field + ": " + value + " (expected: " + min + "-" + max + ")");
            }
            return value;
        }

        private static String path(String path, String field) {
            if (path == null) {
                return null;
            }
            if (path.isBlank() || path.chars().anyMatch(c -> c < ' ' || c == 127)) {
                throw new IllegalArgumentException(
                        field + ": '" + path + "' (expected: a file path, no control characters)");
            }
            return path;
        }

        private static String cookieName(String field, String name) {
            Objects.requireNonNull(name, field);
            if (name.isEmpty() || name.length() > 64 || !name.chars().allMatch(Builder::isTokenChar)) {
                throw new IllegalArgumentException(
                        field + ": '" + name + "' (expected: 1-64 cookie-name characters, RFC 6265 token)");
            }
            return name;
        }

        private static boolean isTokenChar(int c) {
            return c > ' ' && c < 127 && "()<>@,;:\\\"/[]?={}".indexOf(c) < 0;
        }

        private static String string(String field, Object value) {
            if (value instanceof String s) {
                return s;
            }
            throw typeError(field, value, "a string");
        }

        private static boolean bool(String field, Object value) {
            if (value instanceof Boolean b) {
                return b;
            }
            throw typeError(field, value, "true or false");
        }

        private static int integer(String field, Object value) {
            if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
                long l = ((Number) value).longValue();
                if (l >= Integer.MIN_VALUE && l <= Integer.MAX_VALUE) {
                    return (int) l;
                }
                throw new IllegalArgumentException(field + ": " + l + " (expected: an integer within int range)");
            }
            if (value instanceof java.math.BigInteger) {
                throw new IllegalArgumentException(field + ": out of range (expected: an integer within int range)");
            }
            // 2.0, 3e0: refused, as the admin API refuses them for every integer field.
            throw typeError(field, value, "an integer");
        }

        private static List<String> stringList(String field, Object value) {
            if (value instanceof List<?> list) {
                List<String> out = new ArrayList<>(list.size());
                for (Object o : list) {
                    out.add(string(field, o));
                }
                return out;
            }
            throw typeError(field, value, "a list of strings");
        }

        private static List<Integer> integerList(String field, Object value) {
            if (value instanceof List<?> list) {
                List<Integer> out = new ArrayList<>(list.size());
                for (Object o : list) {
                    out.add(integer(field, o));
                }
                return out;
            }
            throw typeError(field, value, "a list of integers");
        }

        private static IllegalArgumentException typeError(String field, Object value, String expected) {
            String shown = value instanceof String s ? "'" + s + "'" : String.valueOf(value);
            return new IllegalArgumentException(field + ": " + shown + " (expected: " + expected + ")");
        }
    }
}
