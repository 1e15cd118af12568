package dev.fairload.lb.dns;

import dev.fairload.lb.Server;
import dev.fairload.lb.ServerSource;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * A {@link ServerSource} that follows a DNS name: every address of an A/AAAA name is a server (on a port given
 * here), or every target of an SRV name is (with the record's port and weight). Covers Kubernetes headless
 * services and Consul's DNS interface.
 *
 * <p>Refresh: the name is queried again when the shortest TTL of the answer expires, clamped between {@link
 * Builder#minRefresh} and {@link Builder#maxRefresh} (as Armeria's DNS endpoint groups do). A failed query
 * (timeout, SERVFAIL, an unreachable resolver) is retried with exponential backoff from the minimum refresh up
 * to the maximum, and the last good set stays in the pool meanwhile: a failure never empties it. An answer with
 * no usable record is treated the same way (logged at WARN), so a misconfigured zone cannot take every server
 * away. Changes are logged at INFO.
 *
 * <p>SRV: records of the lowest priority value are used, the others ignored; weights 0-65535 map to server
 * weights 1-1000 in proportion ({@code max(1, round(weight * 1000 / 65535))}, so weight 0 counts as the
 * lowest). Targets are resolved with A and AAAA queries unless the answer's additional section holds them. An A
 * or AAAA query that fails while the other answers counts as no address of that family.
 *
 * <p>Threads: queries run on a scheduler, one query at a time; by default one daemon thread of the source's
 * own, stopped by {@link #close()}. Queries are sent with dnsjava's {@code SimpleResolver} (UDP, TCP when the
 * answer is truncated) to the configured resolver, or to the system's first one. Thread-safe.
 */
public final class DnsServerSource implements ServerSource {
    private static final Logger log = LoggerFactory.getLogger(DnsServerSource.class);

    /** The kind of record followed. */
    public enum RecordType {
        /** A and AAAA records: every address is a server on the configured port. */
        ADDRESS,
        /** SRV records: every target is a server with the record's port and weight. */
        SRV
    }

    private final RecordType type;
    private final Name name;
    private final int port;
    private final InetSocketAddress resolverAddress;
    private final Duration minRefresh;
    private final Duration maxRefresh;
    private final Duration queryTimeout;
    private final String zone;
    private final ScheduledExecutorService scheduler;
    private final boolean ownsScheduler;
    private final String sourceName;

    private final Object lock = new Object();
    private Listener listener; // guarded by lock
    private ScheduledFuture<?> next; // guarded by lock
    private boolean closed; // guarded by lock
    private List<Server> lastGood; // only on the scheduler
    private volatile int failures; // written only on the scheduler
    private volatile long queries; // written only on the scheduler

    private DnsServerSource(Builder b) {
        this.type = b.type;
        this.name = b.name;
        this.port = b.port;
        this.resolverAddress = b.resolver;
        this.minRefresh = b.minRefresh;
        this.maxRefresh = b.maxRefresh;
        this.queryTimeout = b.queryTimeout;
        this.zone = b.zone;
        this.ownsScheduler = b.scheduler == null;
        this.scheduler = ownsScheduler
                ? Executors.newSingleThreadScheduledExecutor(r -> {
                    Thread t = new Thread(r, "fairload-dns-" + b.name);
                    t.setDaemon(true);
                    return t;
                })
                : b.scheduler;
        String relative = b.name.toString(true);
        this.sourceName = type == RecordType.SRV ? "dns+srv://" + relative : "dns://" + relative + ":" + port;
    }

    /**
     * Follows the A and AAAA records of {@code name}: every address is a server on {@code port}.
     *
     * @throws IllegalArgumentException if the name is not a valid DNS name or the port is outside 1-65535
     */
    public static Builder forAddresses(String name, int port) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 1-65535)");
        }
        return new Builder(RecordType.ADDRESS, parseName(name), port);
    }

    /**
     * Follows the SRV records of {@code name} (such as {@code _http._tcp.api.example}).
     *
     * @throws IllegalArgumentException if the name is not a valid DNS name
     */
    public static Builder forSrv(String name) {
        return new Builder(RecordType.SRV, parseName(name), 0);
    }

    private static Name parseName(String name) {
        Objects.requireNonNull(name, "name");
        boolean printable = !name.isEmpty() && name.chars().allMatch(c -> c > ' ' && c < 127);
        if (printable && !name.startsWith(".") && !name.contains("..")) {
            try {
                return Name.fromString(name.endsWith(".") ? name : name + ".");
            } catch (TextParseException e) {
                // Reported below.
            }
        }
        throw new IllegalArgumentException("name: '" + name + "' (expected: a DNS name such as api.example)");
    }

    /** {@code dns://NAME:PORT} for addresses, {@code dns+srv://NAME} for SRV. */
    @Override
    public String name() {
        return sourceName;
    }

    @Override
    public void start(Listener listener) {
        Objects.requireNonNull(listener, "listener");
        synchronized (lock) {
            if (this.listener != null) {
                throw new IllegalStateException("already started");
            }
            this.listener = listener;
            if (!closed) {
                next = scheduler.schedule(this::refresh, 0, TimeUnit.NANOSECONDS);
            }
        }
    }

    /** Failed refreshes in a row. For tests. */
    int failuresInARow() {
        return failures;
    }

    /** Refreshes attempted so far. For tests. */
    long refreshes() {
        return queries;
    }

    private void refresh() {
        long delayNanos;
        queries++;
        try {
            Resolved resolved = resolve();
            if (resolved.servers.isEmpty()) {
                failures++;
                delayNanos = backoffNanos(failures, minRefresh, maxRefresh);
                log.warn(
                        "{}: no records; keeping the last {} servers, asking again in {} ms",
                        sourceName,
                        lastGood == null ? 0 : lastGood.size(),
                        TimeUnit.NANOSECONDS.toMillis(delayNanos));
            } else {
                if (failures > 0) {
                    log.info("{}: resolving again after {} failures", sourceName, failures);
                }
                failures = 0;
                delayNanos = refreshNanos(resolved.ttlSeconds, minRefresh, maxRefresh);
                if (!resolved.servers.equals(lastGood)) {
                    log.info(
                            "{}: {} servers (was {}), next refresh in {} ms",
                            sourceName,
                            resolved.servers.size(),
                            lastGood == null ? "none" : lastGood.size(),
                            TimeUnit.NANOSECONDS.toMillis(delayNanos));
                    lastGood = resolved.servers;
                    Listener target;
                    synchronized (lock) {
                        target = closed ? null : listener;
                    }
                    if (target != null) {
                        target.update(resolved.servers);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            failures++;
            delayNanos = backoffNanos(failures, minRefresh, maxRefresh);
            log.warn(
                    "{}: query failed ({}); keeping the last {} servers, retrying in {} ms",
                    sourceName,
                    e.toString(),
                    lastGood == null ? 0 : lastGood.size(),
                    TimeUnit.NANOSECONDS.toMillis(delayNanos));
        }
        synchronized (lock) {
            if (!closed) {
                next = scheduler.schedule(this::refresh, delayNanos, TimeUnit.NANOSECONDS);
            }
        }
    }

    /** The refresh delay for an answer whose shortest TTL is {@code ttlSeconds}: that TTL, clamped. */
    static long refreshNanos(long ttlSeconds, Duration min, Duration max) {
        long ttl = TimeUnit.SECONDS.toNanos(Math.max(0, ttlSeconds));
        return Math.min(max.toNanos(), Math.max(min.toNanos(), ttl));
    }

    /** After {@code failures} failures in a row: min, 2 min, 4 min, ..., at most max. */
    static long backoffNanos(int failures, Duration min, Duration max) {
        long delay = min.toNanos() << Math.min(failures - 1, 30);
        return delay <= 0 ? max.toNanos() : Math.min(max.toNanos(), delay);
    }

    private record Resolved(List<Server> servers, long ttlSeconds) {}

    private Resolved resolve() throws IOException {
        SimpleResolver resolver = resolverAddress == null ? new SimpleResolver() : new SimpleResolver(resolverAddress);
        resolver.setTimeout(queryTimeout);
        return type == RecordType.SRV ? resolveSrv(resolver) : resolveAddresses(resolver);
    }

    private Resolved resolveAddresses(SimpleResolver resolver) throws IOException {
        long[] ttl = {Long.MAX_VALUE};
        List<InetAddress> addresses = addresses(resolver, name, ttl, null);
        List<Server> servers = new ArrayList<>(addresses.size());
        for (InetAddress address : addresses) {
            servers.add(server(address, port, Server.DEFAULT_WEIGHT));
        }
        servers.sort(Comparator.comparing(Server::authority));
        return new Resolved(List.copyOf(servers), ttl[0]);
    }

    private Resolved resolveSrv(SimpleResolver resolver) throws IOException {
        Message answer = query(resolver, name, Type.SRV);
        long ttl = Long.MAX_VALUE;
        int lowestPriority = Integer.MAX_VALUE;
        List<SRVRecord> records = new ArrayList<>();
        for (Record r : answer.getSection(Section.ANSWER)) {
            if (r instanceof SRVRecord srv && srv.getPort() > 0) {
                records.add(srv);
                ttl = Math.min(ttl, srv.getTTL());
                lowestPriority = Math.min(lowestPriority, srv.getPriority());
            }
        }
        Map<Name, List<InetAddress>> additional = new LinkedHashMap<>();
        for (Record r : answer.getSection(Section.ADDITIONAL)) {
            InetAddress address = address(r);
            if (address != null) {
                additional.computeIfAbsent(r.getName(), k -> new ArrayList<>()).add(address);
            }
        }
        Map<String, Server> servers = new LinkedHashMap<>();
        long[] targetTtl = {ttl};
        for (SRVRecord srv : records) {
            if (srv.getPriority() != lowestPriority) {
                continue;
            }
            List<InetAddress> targets = additional.get(srv.getTarget());
            if (targets == null) {
                targets = addresses(resolver, srv.getTarget(), targetTtl, additional);
            }
            int weight = Math.max(1, Math.round(srv.getWeight() * (float) Server.MAX_WEIGHT / 65535));
            for (InetAddress address : targets) {
                Server server = server(address, srv.getPort(), weight);
                servers.putIfAbsent(server.authority(), server);
            }
        }
        List<Server> sorted = new ArrayList<>(servers.values());
        sorted.sort(Comparator.comparing(Server::authority));
        return new Resolved(List.copyOf(sorted), targetTtl[0]);
    }

    /** Every A and AAAA address of {@code host}, lowering {@code ttl[0]} to the shortest TTL seen. */
    private List<InetAddress> addresses(
            SimpleResolver resolver, Name host, long[] ttl, Map<Name, List<InetAddress>> cache) throws IOException {
        List<InetAddress> result = new ArrayList<>();
        IOException failed = null;
        for (int recordType : new int[] {Type.A, Type.AAAA}) {
            Message answer;
            try {
                answer = query(resolver, host, recordType);
            } catch (IOException e) {
                // Some servers refuse the type a name does not have (dnsmasq without upstream refuses AAAA):
                // the resolution fails only if neither type answered.
                if (failed != null) {
                    failed.addSuppressed(e);
                    throw failed;
                }
                failed = e;
                continue;
            }
            for (Record r : answer.getSection(Section.ANSWER)) {
                InetAddress address = address(r);
                if (address != null) {
                    result.add(address);
                    ttl[0] = Math.min(ttl[0], r.getTTL());
                }
            }
        }
        if (cache != null) {
            cache.put(host, result);
        }
        return result;
    }

    private static InetAddress address(Record r) {
        if (r instanceof ARecord a) {
            return a.getAddress();
        }
        if (r instanceof AAAARecord aaaa) {
            return aaaa.getAddress();
        }
        return null;
    }

    private static Message query(SimpleResolver resolver, Name host, int recordType) throws IOException {
        Message answer = resolver.send(Message.newQuery(Record.newRecord(host, recordType, DClass.IN)));
        int rcode = answer.getRcode();
        if (rcode != Rcode.NOERROR && rcode != Rcode.NXDOMAIN) {
            throw new IOException(Type.string(recordType) + " " + host + ": " + Rcode.string(rcode));
        }
        return answer;
    }

    private Server server(InetAddress address, int port, int weight) {
        String host = address.getHostAddress();
        Server.Builder b = Server.builder(host, port)
                .id((host + ":" + port).replace('%', '.'))
                .weight(weight);
        if (zone != null) {
            b.zone(zone);
        }
        return b.build();
    }

    /** Stops querying; the servers delivered so far stay where they were delivered. Idempotent. */
    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
            if (next != null) {
                next.cancel(false);
            }
        }
        if (ownsScheduler) {
            scheduler.shutdownNow();
        }
    }

    @Override
    public String toString() {
        return "DnsServerSource{" + sourceName + (resolverAddress == null ? "" : " via " + resolverAddress) + "}";
    }

    /** Validating builder for {@link DnsServerSource}. Not thread-safe; {@link #build()} may be called again. */
    public static final class Builder {
        private final RecordType type;
        private final Name name;
        private final int port;
        private InetSocketAddress resolver;
        private Duration minRefresh = Duration.ofSeconds(1);
        private Duration maxRefresh = Duration.ofMinutes(5);
        private Duration queryTimeout = Duration.ofSeconds(5);
        private String zone;
        private ScheduledExecutorService scheduler;

        private Builder(RecordType type, Name name, int port) {
            this.type = type;
            this.name = name;
            this.port = port;
        }

        /** The DNS server to ask; default the system's first resolver. */
        public Builder resolver(InetSocketAddress resolver) {
            this.resolver = Objects.requireNonNull(resolver, "resolver");
            return this;
        }

        /**
         * The resolver as {@code HOST:PORT} or {@code HOST} (port 53); IPv6 literals in brackets.
         *
         * @throws IllegalArgumentException naming {@code resolver} if malformed
         */
        public Builder resolver(String hostAndPort) {
            this.resolver = parseResolver(hostAndPort);
            return this;
        }

        /** Parses {@code HOST[:PORT]} (IPv6 in brackets), without resolving the host if it is an IP literal. */
        public static InetSocketAddress parseResolver(String hostAndPort) {
            Objects.requireNonNull(hostAndPort, "resolver");
            String host = hostAndPort;
            int port = 53;
            try {
                if (hostAndPort.startsWith("[")) {
                    int end = hostAndPort.indexOf(']');
                    host = hostAndPort.substring(1, end);
                    String rest = hostAndPort.substring(end + 1);
                    if (!rest.isEmpty()) {
                        if (!rest.startsWith(":")) {
                            throw new IllegalArgumentException();
                        }
                        port = Integer.parseInt(rest.substring(1));
                    }
                } else if (hostAndPort.indexOf(':') >= 0) {
                    int colon = hostAndPort.indexOf(':');
                    if (colon != hostAndPort.lastIndexOf(':')) {
                        throw new IllegalArgumentException();
                    }
                    host = hostAndPort.substring(0, colon);
                    port = Integer.parseInt(hostAndPort.substring(colon + 1));
                }
                if (host.isEmpty() || port < 1 || port > 65535) {
                    throw new IllegalArgumentException();
                }
                Server.builder(host, port); // validates the host's syntax
                return new InetSocketAddress(host, port);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(
                        "resolver: '" + hostAndPort + "' (expected: HOST:PORT, such as 127.0.0.1:53)");
            }
        }

        /**
         * The shortest time between two queries, and the first retry delay after a failure; default 1 s.
         *
         * @throws IllegalArgumentException if not positive
         */
        public Builder minRefresh(Duration minRefresh) {
            this.minRefresh = positive("minRefresh", minRefresh);
            return this;
        }

        /**
         * The longest time between two queries, and the longest retry delay; default 5 min.
         *
         * @throws IllegalArgumentException if not positive
         */
        public Builder maxRefresh(Duration maxRefresh) {
            this.maxRefresh = positive("maxRefresh", maxRefresh);
            return this;
        }

        /** How long one query may take; default 5 s. @throws IllegalArgumentException if not positive */
        public Builder queryTimeout(Duration queryTimeout) {
            this.queryTimeout = positive("queryTimeout", queryTimeout);
            return this;
        }

        /** The zone given to every server of this source (DNS has none of its own). */
        public Builder zone(String zone) {
            Server.builder("localhost", 1).zone(zone); // validates
            this.zone = zone;
            return this;
        }

        /** Runs queries on this scheduler instead of a thread of the source's own; not shut down by close. */
        public Builder scheduler(ScheduledExecutorService scheduler) {
            this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
            return this;
        }

        /** @throws IllegalArgumentException if minRefresh is above maxRefresh */
        public DnsServerSource build() {
            if (minRefresh.compareTo(maxRefresh) > 0) {
                throw new IllegalArgumentException(
                        "minRefresh: " + minRefresh + " (expected: at most maxRefresh, " + maxRefresh + ")");
            }
            return new DnsServerSource(this);
        }

        private static Duration positive(String field, Duration value) {
            Objects.requireNonNull(value, field);
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException(field + ": " + value + " (expected: > 0)");
            }
            return value;
        }
    }
}
