package dev.fairload.lb.internal.pick;

import dev.fairload.lb.PickContext;
import dev.fairload.lb.internal.ServerState;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Zone-aware routing as Envoy does it ("Zone aware routing", Envoy's load-balancing docs), precomputed per
 * snapshot so that a pick stays lock-free and allocation-free.
 *
 * <p>Shares: for each zone z, the expected share E(z) of the callers is the share of the pool's members in z
 * (callers are assumed to be spread over zones as the servers are: Envoy reads it from the local cluster), and
 * the healthy share H(z) is the share of the candidates in z. If H(local) >= E(local), every request stays in
 * the local zone. Otherwise the local zone takes H(local) / E(local) of the requests, and the rest spills to the
 * other zones in proportion to their surplus max(0, H(z) - E(z)). Servers with no zone are a zone of their own,
 * never local.
 *
 * <p>Exactness: the zone of each pick comes from a precomputed smooth weighted cycle over the zones' shares in
 * 1/10,000 (as {@code weighted} does for servers), at a rotating index kept across snapshots, so over every full
 * cycle each zone gets exactly its share. Within a zone, the strategy picks among that zone's candidates.
 */
public final class ZonePicker implements Picker {
    static final int BASIS = 10_000;

    private final Picker[] pickers;
    private final int[] schedule;
    private final AtomicLong sequence;
    private final String[] zones;
    private final int[] shares;

    private ZonePicker(Picker[] pickers, int[] schedule, AtomicLong sequence, String[] zones, int[] shares) {
        this.pickers = pickers;
        this.schedule = schedule;
        this.sequence = sequence;
        this.zones = zones;
        this.shares = shares;
    }

    /**
     * A zone-aware picker, or null when routing is plain (no local zone member among the candidates' zones, or
     * every request stays local and the local zone holds every candidate).
     *
     * @param members every member of the pool (the expected shares)
     * @param candidates the servers a pick may choose from
     * @param weights the candidates' effective weights
     */
    public static Picker build(
            String localZone,
            ServerState[] members,
            ServerState[] candidates,
            int[] weights,
            PickerFactory factory,
            AtomicLong sequence) {
        Map<String, Integer> memberCount = new LinkedHashMap<>();
        for (ServerState s : members) {
            memberCount.merge(zoneOf(s), 1, Integer::sum);
        }
        Map<String, List<Integer>> byZone = new LinkedHashMap<>();
        byZone.put(localZone, new ArrayList<>());
        for (int i = 0; i < candidates.length; i++) {
            byZone.computeIfAbsent(zoneOf(candidates[i]), z -> new ArrayList<>())
                    .add(i);
        }
        int localMembers = memberCount.getOrDefault(localZone, 0);
        int localHealthy = byZone.get(localZone).size();
        if (localMembers == 0 || localHealthy == 0) {
            return null; // no local zone to prefer: plain routing over every candidate
        }
        int n = candidates.length;
        int total = members.length;
        String[] zones = byZone.keySet().toArray(new String[0]);
        int[] shares = new int[zones.length];
        // Compare H(local) = localHealthy / n with E(local) = localMembers / total in integers.
        if ((long) localHealthy * total >= (long) localMembers * n) {
            shares[0] = BASIS;
        } else {
            shares[0] = (int) ((long) BASIS * localHealthy * total / ((long) localMembers * n));
            double[] surplus = new double[zones.length];
            double surplusSum = 0;
            for (int z = 1; z < zones.length; z++) {
                double healthy = (double) byZone.get(zones[z]).size() / n;
                double expected = (double) memberCount.getOrDefault(zones[z], 0) / total;
                surplus[z] = Math.max(0, healthy - expected);
                surplusSum += surplus[z];
            }
            int rest = BASIS - shares[0];
            int given = 0;
            int largest = -1;
            for (int z = 1; z < zones.length; z++) {
                double part = surplusSum > 0
                        ? surplus[z] / surplusSum
                        : (double) byZone.get(zones[z]).size() / (n - localHealthy);
                shares[z] = (int) Math.floor(rest * part + 1e-9);
                given += shares[z];
                if (largest < 0 || shares[z] > shares[largest]) {
                    largest = z;
                }
            }
            if (largest > 0) {
                shares[largest] += rest - given;
            } else {
                shares[0] = BASIS;
            }
        }
        if (shares[0] == BASIS && localHealthy == n) {
            return null; // everything local and everything is local: the plain picker does the same
        }
        Picker[] pickers = new Picker[zones.length];
        for (int z = 0; z < zones.length; z++) {
            List<Integer> indices = byZone.get(zones[z]);
            if (indices.isEmpty() || shares[z] == 0) {
                continue;
            }
            ServerState[] zoneCandidates = new ServerState[indices.size()];
            int[] zoneWeights = new int[indices.size()];
            for (int k = 0; k < zoneCandidates.length; k++) {
                zoneCandidates[k] = candidates[indices.get(k)];
                zoneWeights[k] = weights[indices.get(k)];
            }
            pickers[z] = factory.newPicker(zoneCandidates, zoneWeights);
        }
        int[] schedule = shares[0] == BASIS ? new int[] {0} : WeightedSchedule.build(shares);
        return new ZonePicker(pickers, schedule, sequence, zones, shares);
    }

    private static String zoneOf(ServerState s) {
        return s.server().zone().orElse("");
    }

    @Override
    public ServerState pick(PickContext context) {
        int zone = schedule[(int) (sequence.getAndIncrement() % schedule.length)];
        return pickers[zone].pick(context);
    }

    /** Each zone's share of picks in 1/10,000, for logs and tests. */
    public Map<String, Integer> shares() {
        Map<String, Integer> result = new LinkedHashMap<>();
        for (int z = 0; z < zones.length; z++) {
            if (shares[z] > 0) {
                result.put(zones[z], shares[z]);
            }
        }
        return result;
    }
}
