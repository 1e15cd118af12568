package dev.fairload.lb;

import dev.fairload.lb.internal.pick.PickerFactory;
import dev.fairload.lb.internal.pick.Pickers;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * How a {@link LoadBalancer} chooses among its healthy servers. Strategies are values named in snake_case and
 * may be switched at any time, also under load: requests already picked are unaffected.
 *
 * <p>Every strategy picks from an immutable snapshot of the healthy servers without taking a lock. Costs are
 * per pick, for n healthy servers. Examples use servers a, b, c with weights 1, 2, 3 where weights apply.
 *
 * <table>
 *   <caption>Strategies</caption>
 *   <tr><th>name</th><th>pick cost</th><th>behaviour</th></tr>
 *   <tr><td>{@code round_robin}</td><td>O(1)</td><td>strict rotation, ignores weights: {@code abcabc}</td></tr>
 *   <tr><td>{@code weighted}</td><td>O(1)</td><td>smooth weighted rotation, exact shares: {@code cbacbc}</td></tr>
 *   <tr><td>{@code least_connections}</td><td>O(min(n, 64))</td><td>fewest in-flight requests per weight</td></tr>
 *   <tr><td>{@code ip_hash}</td><td>O(1)</td><td>Maglev consistent hash of the client address</td></tr>
 *   <tr><td>{@code random}</td><td>O(1)</td><td>uniform</td></tr>
 *   <tr><td>{@code power_of_two}</td><td>O(1)</td><td>two random choices, fewer in-flight per weight wins</td></tr>
 *   <tr><td>{@code least_response_time}</td><td>O(1)</td><td>two random choices scored by peak-EWMA latency</td></tr>
 *   <tr><td>{@code consistent_hash}</td><td>O(1)</td><td>Maglev consistent hash of a request key</td></tr>
 * </table>
 *
 * <p>Immutable and thread-safe.
 */
public final class Strategy {
    private final String name;
    private final String description;
    private final Supplier<PickerFactory> factory;

    private Strategy(String name, String description, Supplier<PickerFactory> factory) {
        this.name = name;
        this.description = description;
        this.factory = factory;
    }

    /** Strict rotation over the healthy servers; N*k picks over N servers give exactly k each. */
    public static Strategy roundRobin() {
        return ROUND_ROBIN;
    }

    /**
     * Smooth weighted round robin: over every cycle of total-weight picks each server gets exactly its weight,
     * spread out instead of in bursts (weights 5, 3, 2 give {@code abcaabacba}, never three a's in a row).
     */
    public static Strategy weighted() {
        return WEIGHTED;
    }

    /**
     * Fewest in-flight requests relative to weight; ties go to the next server in rotation. Exact up to 64
     * healthy servers; above that, the least loaded of 64 consecutive servers from a rotating start, so the
     * cost stays bounded.
     */
    public static Strategy leastConnections() {
        return LEAST_CONNECTIONS;
    }

    /**
     * Consistent hashing of the client address over a Maglev table: one address always reaches the same
     * server while it is healthy, and removing one of n servers remaps about 1/n of the addresses. Requests
     * without an address are spread at random. Separate balancers with the same servers and weights agree on
     * every address, whatever order the servers were added in.
     */
    public static Strategy ipHash() {
        return IP_HASH;
    }

    /** Uniformly random choice. */
    public static Strategy random() {
        return RANDOM;
    }

    /** Uniformly random choice from a seeded sequence: the same seed gives the same picks. For simulation and tests. */
    public static Strategy random(long seed) {
        return new Strategy("random", RANDOM.description, () -> Pickers.seededRandom(seed));
    }

    /** Two random choices; the one with fewer in-flight requests relative to weight wins (Envoy's least request). */
    public static Strategy powerOfTwo() {
        return POWER_OF_TWO;
    }

    /**
     * Two random choices scored by peak-EWMA latency times (in-flight + 1), as Finagle and Linkerd balance:
     * slow servers get little traffic, and a server that slows down is noticed at its next response.
     */
    public static Strategy leastResponseTime() {
        return LEAST_RESPONSE_TIME;
    }

    /**
     * Consistent hashing of {@link PickContext#hashKey()} (a header, cookie or path) over a Maglev table. Without
     * a key, the client address is used; without either, a random server. Separate balancers with the same
     * servers and weights agree on every key, whatever order the servers were added in.
     */
    public static Strategy consistentHash() {
        return CONSISTENT_HASH;
    }

    /**
     * The strategy with this snake_case name.
     *
     * @throws IllegalArgumentException naming the valid names if there is none
     */
    public static Strategy byName(String name) {
        Objects.requireNonNull(name, "algorithm");
        for (Strategy s : ALL) {
            if (s.name.equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException(
                "algorithm: '" + name + "' (expected one of: " + String.join(", ", names()) + ")");
    }

    /** Every built-in strategy, in a stable order. */
    public static List<Strategy> all() {
        return ALL;
    }

    /** The names of {@link #all()}. */
    public static List<String> names() {
        return ALL.stream().map(Strategy::name).toList();
    }

    /** The snake_case name, as used in configuration and the admin API. */
    public String name() {
        return name;
    }

    /** One sentence for people choosing a strategy. */
    public String description() {
        return description;
    }

    /** Creates the per-balancer state (rotation counters, random sources) this strategy keeps across snapshots. */
    PickerFactory newPickerFactory() {
        return factory.get();
    }

    @Override
    public String toString() {
        return name;
    }

    private static final Strategy ROUND_ROBIN =
            new Strategy("round_robin", "Strict rotation over the healthy servers.", Pickers::roundRobin);
    private static final Strategy WEIGHTED = new Strategy(
            "weighted", "Smooth weighted round robin: exact shares by weight, without bursts.", Pickers::weighted);
    private static final Strategy LEAST_CONNECTIONS = new Strategy(
            "least_connections",
            "Fewest in-flight requests relative to weight; ties rotate.",
            Pickers::leastConnections);
    private static final Strategy IP_HASH =
            new Strategy("ip_hash", "Consistent hashing (Maglev) of the client address.", Pickers::ipHash);
    private static final Strategy RANDOM = new Strategy("random", "Uniformly random choice.", Pickers::random);
    private static final Strategy POWER_OF_TWO = new Strategy(
            "power_of_two",
            "Two random choices; fewer in-flight requests relative to weight wins.",
            Pickers::powerOfTwo);
    private static final Strategy LEAST_RESPONSE_TIME = new Strategy(
            "least_response_time",
            "Two random choices scored by peak-EWMA latency times (in-flight + 1).",
            Pickers::leastResponseTime);
    private static final Strategy CONSISTENT_HASH = new Strategy(
            "consistent_hash",
            "Consistent hashing (Maglev) of a request key from a header, cookie or path.",
            Pickers::consistentHash);

    private static final List<Strategy> ALL = List.of(
            ROUND_ROBIN,
            LEAST_CONNECTIONS,
            WEIGHTED,
            IP_HASH,
            RANDOM,
            POWER_OF_TWO,
            LEAST_RESPONSE_TIME,
            CONSISTENT_HASH);
}
