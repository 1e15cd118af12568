package dev.fairload.lb;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One backend a load balancer may send requests to: where it is, how much traffic it should get, and how
 * its health is checked.
 *
 * <p>Immutable and thread-safe. Live state (status, in-flight requests, latency) is not part of this value;
 * read it from {@link ServerView}. Create one with {@link #builder(String, int)}; {@link #toBuilder()} makes
 * variants. Every setter validates at once and names the field and its allowed range in the exception.
 */
public final class Server {
    /** Lowest allowed weight. */
    public static final int MIN_WEIGHT = 1;
    /** Highest allowed weight. */
    public static final int MAX_WEIGHT = 1000;
    /** Weight of a server built without one. */
    public static final int DEFAULT_WEIGHT = 1;

    private final String id;
    private final String host;
    private final int port;
    private final int weight;
    private final String healthCheckPath;
    private final Duration healthCheckInterval;
    private final Duration healthCheckFastInterval;
    private final Instant addedAt;
    private final String authority;
    private final String zone;
    private final String source;

    private Server(Builder builder) {
        this.host = builder.host;
        this.port = builder.port;
        this.weight = builder.weight;
        this.healthCheckPath = builder.healthCheckPath;
        this.healthCheckInterval = builder.healthCheckInterval;
        this.healthCheckFastInterval = builder.healthCheckFastInterval;
        this.id = builder.id != null ? builder.id : newId();
        this.addedAt = builder.addedAt != null ? builder.addedAt : Instant.now();
        this.authority = host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
        this.zone = builder.zone;
        this.source = builder.source;
    }

    /**
     * Starts a server at {@code host:port}.
     *
     * @throws IllegalArgumentException if the host is empty or malformed, or the port is outside 1-65535
     */
    public static Builder builder(String host, int port) {
        return new Builder().host(host).port(port);
    }

    /** A server at {@code host:port} with default weight and health-check settings. */
    public static Server of(String host, int port) {
        return builder(host, port).build();
    }

    /** Stable identifier, unique within a pool. */
    public String id() {
        return id;
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    /** {@code host:port}, with IPv6 literals in brackets. */
    public String authority() {
        return authority;
    }

    /**
     * An opaque, stable token for this server's address, for balancer-set sticky cookies: derived from {@code
     * host:port} only, so every balancer instance with the same servers issues and honours the same tokens,
     * without a shared table and across restarts. It does not reveal the address.
     */
    public String stickyToken() {
        return Tokens.of(authority());
    }

    /** Relative share of traffic, 1-1000. */
    public int weight() {
        return weight;
    }

    /** This server's health-check path, if it overrides the balancer's default. */
    public Optional<String> healthCheckPath() {
        return Optional.ofNullable(healthCheckPath);
    }

    /** This server's health-check interval, if it overrides the balancer's default. */
    public Optional<Duration> healthCheckInterval() {
        return Optional.ofNullable(healthCheckInterval);
    }

    /** This server's fast health-check interval (used while it is not healthy), if it overrides the balancer's. */
    public Optional<Duration> healthCheckFastInterval() {
        return Optional.ofNullable(healthCheckFastInterval);
    }

    /** When this server was first built (kept by {@link #toBuilder()}). */
    public Instant addedAt() {
        return addedAt;
    }

    /** The zone (availability zone, rack, data centre) this server runs in, if known; see zone-aware routing. */
    public Optional<String> zone() {
        return Optional.ofNullable(zone);
    }

    /**
     * The {@link ServerSource} that keeps this server in its pool (such as {@code dns+srv://_http._tcp.example}),
     * or empty for a server added by hand.
     */
    public Optional<String> source() {
        return Optional.ofNullable(source);
    }

    /** A copy with another weight. */
    public Server withWeight(int weight) {
        return toBuilder().weight(weight).build();
    }

    /** A builder holding this server's values, id and {@link #addedAt()} included. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.id = id;
        b.host = host;
        b.port = port;
        b.weight = weight;
        b.healthCheckPath = healthCheckPath;
        b.healthCheckInterval = healthCheckInterval;
        b.healthCheckFastInterval = healthCheckFastInterval;
        b.addedAt = addedAt;
        b.zone = zone;
        b.source = source;
        return b;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Server other
                && id.equals(other.id)
                && host.equals(other.host)
                && port == other.port
                && weight == other.weight
                && Objects.equals(healthCheckPath, other.healthCheckPath)
                && Objects.equals(healthCheckInterval, other.healthCheckInterval)
                && Objects.equals(healthCheckFastInterval, other.healthCheckFastInterval)
                && addedAt.equals(other.addedAt)
                && Objects.equals(zone, other.zone)
                && Objects.equals(source, other.source);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, host, port, weight);
    }

    @Override
    public String toString() {
        return "Server{" + id + " " + authority() + " weight=" + weight + "}";
    }

    private static String newId() {
        return String.format(
                Locale.ROOT, "srv-%08x", ThreadLocalRandom.current().nextInt());
    }

    /** Validating builder for {@link Server}. Not thread-safe; {@link #build()} may be called again. */
    public static final class Builder {
        private String id;
        private String host;
        private int port;
        private int weight = DEFAULT_WEIGHT;
        private String healthCheckPath;
        private Duration healthCheckInterval;
        private Duration healthCheckFastInterval;
        private Instant addedAt;
        private String zone;
        private String source;

        private Builder() {}

        /**
         * Sets the id; without one a random {@code srv-xxxxxxxx} id is chosen.
         *
         * @throws IllegalArgumentException if empty, longer than 64 characters, or not made of letters,
         *     digits, {@code - _ . :}
         */
        public Builder id(String id) {
            Objects.requireNonNull(id, "id");
            if (id.isEmpty() || id.length() > 64 || !id.chars().allMatch(Builder::isIdChar)) {
                throw new IllegalArgumentException(
                        "id: '" + id + "' (expected: 1-64 characters of letters, digits, '-', '_', '.', ':')");
            }
            this.id = id;
            return this;
        }

        /** @throws IllegalArgumentException if the host is empty or is not a host name or IP literal */
        public Builder host(String host) {
            Objects.requireNonNull(host, "host");
            this.host = Hosts.validate(host);
            return this;
        }

        /** @throws IllegalArgumentException if outside 1-65535 */
        public Builder port(int port) {
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("port: " + port + " (expected: 1-65535)");
            }
            this.port = port;
            return this;
        }

        /** Default 1. @throws IllegalArgumentException if outside 1-1000 */
        public Builder weight(int weight) {
            if (weight < MIN_WEIGHT || weight > MAX_WEIGHT) {
                throw new IllegalArgumentException(
                        "weight: " + weight + " (expected: " + MIN_WEIGHT + "-" + MAX_WEIGHT + ")");
            }
            this.weight = weight;
            return this;
        }

        /**
         * Overrides the balancer's health-check path for this server.
         *
         * @throws IllegalArgumentException if it does not start with '/' or contains spaces
         */
        public Builder healthCheckPath(String path) {
            this.healthCheckPath = validatePath("healthCheckPath", path);
            return this;
        }

        /**
         * Overrides the balancer's health-check interval for this server.
         *
         * @throws IllegalArgumentException if not positive
         */
        public Builder healthCheckInterval(Duration interval) {
            this.healthCheckInterval = validatePositive("healthCheckInterval", interval);
            return this;
        }

        /**
         * Overrides the balancer's fast health-check interval for this server: how often it is checked while it is
         * down, unknown, or changing state.
         *
         * @throws IllegalArgumentException if not positive
         */
        public Builder healthCheckFastInterval(Duration fastInterval) {
            this.healthCheckFastInterval = validatePositive("healthCheckFastInterval", fastInterval);
            return this;
        }

        /** Sets when the server was added; without one, the time of {@link #build()}. */
        public Builder addedAt(Instant addedAt) {
            this.addedAt = Objects.requireNonNull(addedAt, "addedAt");
            return this;
        }

        /**
         * Sets the zone the server runs in (as Kubernetes' {@code topology.kubernetes.io/zone}); without one the
         * server belongs to no zone and zone-aware routing treats it as remote.
         *
         * @throws IllegalArgumentException if empty, longer than 128 characters or not printable ASCII
         */
        public Builder zone(String zone) {
            this.zone = validateLabel("zone", zone);
            return this;
        }

        /**
         * Names the {@link ServerSource} that keeps this server in its pool; set by {@link Discovery}, not by hand.
         *
         * @throws IllegalArgumentException if empty, longer than 128 characters or not printable ASCII
         */
        public Builder source(String source) {
            this.source = validateLabel("source", source);
            return this;
        }

        static String validateLabel(String field, String value) {
            Objects.requireNonNull(value, field);
            if (value.isEmpty() || value.length() > 128 || value.chars().anyMatch(c -> c <= ' ' || c >= 127)) {
                throw new IllegalArgumentException(
                        field + ": '" + value + "' (expected: 1-128 printable ASCII characters, no spaces)");
            }
            return value;
        }

        /** @throws IllegalStateException if host or port was never set */
        public Server build() {
            if (host == null) {
                throw new IllegalStateException("host: missing");
            }
            if (port == 0) {
                throw new IllegalStateException("port: missing (expected: 1-65535)");
            }
            return new Server(this);
        }

        static String validatePath(String field, String path) {
            Objects.requireNonNull(path, field);
            if (!path.startsWith("/") || path.length() > 2048 || path.chars().anyMatch(c -> c <= ' ' || c >= 127)) {
                throw new IllegalArgumentException(
                        field + ": '" + path + "' (expected: a path starting with '/', printable ASCII, no spaces)");
            }
            return path;
        }

        static Duration validatePositive(String field, Duration value) {
            Objects.requireNonNull(value, field);
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException(field + ": " + value + " (expected: > 0)");
            }
            return value;
        }

        private static boolean isIdChar(int c) {
            return (c >= 'a' && c <= 'z')
                    || (c >= 'A' && c <= 'Z')
                    || (c >= '0' && c <= '9')
                    || c == '-'
                    || c == '_'
                    || c == '.'
                    || c == ':';
        }
    }
}
