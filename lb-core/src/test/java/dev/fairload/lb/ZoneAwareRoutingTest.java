package dev.fairload.lb;

import static dev.fairload.lb.Servers.pickId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** Envoy's zone-aware routing, with exact shares (the zone of each pick follows a precomputed cycle). */
class ZoneAwareRoutingTest {

    /** {@code perZone[i]} servers in zone "a", "b", "c", ...; ids like "a0", "b2". */
    private static List<Server> zoned(int... perZone) {
        List<Server> servers = new ArrayList<>();
        for (int z = 0; z < perZone.length; z++) {
            String zone = String.valueOf((char) ('a' + z));
            for (int i = 0; i < perZone[z]; i++) {
                servers.add(Server.builder("10." + z + ".0." + (i + 1), 8080)
                        .id(zone + i)
                        .zone(zone)
                        .build());
            }
        }
        return servers;
    }

    private static LoadBalancer balancer(String localZone, Strategy strategy, List<Server> servers) {
        LoadBalancer.Builder b = LoadBalancer.builder().strategy(strategy);
        if (localZone != null) {
            b.localZone(localZone);
        }
        servers.forEach(b::addServer);
        return b.build();
    }

    /** Picks {@code n} times and counts picks per zone (the first letter of the id). */
    private static Map<String, Integer> zoneCounts(LoadBalancer lb, int n) {
        Map<String, Integer> counts = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            counts.merge(pickId(lb, PickContext.empty()).substring(0, 1), 1, Integer::sum);
        }
        return counts;
    }

    @Test
    void localZoneWithItsShareOfHealthyServers_takesEveryRequest() {
        try (LoadBalancer lb = balancer("a", Strategy.roundRobin(), zoned(3, 3, 3))) {
            assertThat(lb.zoneShares()).containsExactly(Map.entry("a", 10_000));
            assertThat(zoneCounts(lb, 3_000)).containsExactly(Map.entry("a", 3_000));
        }
    }

    @Test
    void localZoneShortOfHealthyServers_spillsTheSurplusInProportion() {
        try (LoadBalancer lb = balancer("a", Strategy.roundRobin(), zoned(3, 3, 3))) {
            lb.pool().drain("a0");
            // Local: healthy share 2/8 over expected 3/9 = 3/4 stays; b and c have equal surplus.
            assertThat(lb.zoneShares())
                    .containsExactly(Map.entry("a", 7_500), Map.entry("b", 1_250), Map.entry("c", 1_250));
            assertThat(zoneCounts(lb, 8_000))
                    .containsExactly(Map.entry("a", 6_000), Map.entry("b", 1_000), Map.entry("c", 1_000));
        }
    }

    @Test
    void spillGoesOnlyToZonesWithSurplus() {
        // a: 2 of 4 healthy; b: 4 of 4; c: 2 of 4 (no surplus: its healthy share equals its expected share).
        try (LoadBalancer lb = balancer("a", Strategy.roundRobin(), zoned(4, 4, 4))) {
            lb.pool().drain("a0");
            lb.pool().drain("a1");
            lb.pool().drain("c0");
            lb.pool().drain("c1");
            // H(a) = 2/8, E(a) = 4/12: a keeps 3/4. H(b) = 4/8 > E(b) = 4/12: b takes the rest. H(c) = E(c).
            assertThat(lb.zoneShares()).containsExactly(Map.entry("a", 7_500), Map.entry("b", 2_500));
            assertThat(zoneCounts(lb, 4_000)).containsExactly(Map.entry("a", 3_000), Map.entry("b", 1_000));
        }
    }

    @Test
    void unequalZones_sharesFollowEnvoysFormula() {
        try (LoadBalancer lb = balancer("a", Strategy.roundRobin(), zoned(2, 4, 4))) {
            lb.pool().drain("a1");
            // H(a) = 1/9, E(a) = 2/10: a keeps 10/18 = 5,555; b and c split the rest equally (+1 to the first).
            assertThat(lb.zoneShares())
                    .containsExactly(Map.entry("a", 5_555), Map.entry("b", 2_223), Map.entry("c", 2_222));
        }
    }

    @Test
    void localZoneWithNoHealthyServer_routesOverEveryZone() {
        try (LoadBalancer lb = balancer("a", Strategy.roundRobin(), zoned(3, 3, 3))) {
            lb.pool().drain("a0");
            lb.pool().drain("a1");
            lb.pool().drain("a2");
            assertThat(lb.zoneShares()).isEmpty();
            assertThat(zoneCounts(lb, 600)).containsExactly(Map.entry("b", 300), Map.entry("c", 300));
        }
    }

    @Test
    void offInPanic() {
        LoadBalancer.Builder b = LoadBalancer.builder()
                .strategy(Strategy.roundRobin())
                .localZone("a")
                .panicThreshold(50);
        zoned(3, 3, 3).forEach(b::addServer);
        try (LoadBalancer lb = b.build()) {
            assertThat(lb.zoneShares()).containsKey("a");
            for (String id : List.of("a0", "b0", "b1", "c0", "c1")) {
                lb.pool().drain(id); // 4 of 9 healthy: below 50%
            }
            assertThat(lb.zoneShares()).isEmpty();
        }
    }

    @Test
    void offBelowTheMinimumPoolSize() {
        try (LoadBalancer lb = balancer("a", Strategy.roundRobin(), zoned(2, 2))) {
            assertThat(lb.zoneShares()).isEmpty();
            assertThat(zoneCounts(lb, 400)).containsExactly(Map.entry("a", 200), Map.entry("b", 200));
        }
        LoadBalancer.Builder b = LoadBalancer.builder().localZone("a").zoneAwareMinServers(4);
        zoned(2, 2).forEach(b::addServer);
        try (LoadBalancer lb = b.build()) {
            assertThat(zoneCounts(lb, 400)).containsExactly(Map.entry("a", 400));
        }
    }

    @Test
    void offForHashingStrategiesAndWithoutALocalZone() {
        try (LoadBalancer lb = balancer("a", Strategy.ipHash(), zoned(3, 3, 3))) {
            assertThat(lb.zoneShares()).isEmpty();
        }
        try (LoadBalancer lb = balancer(null, Strategy.roundRobin(), zoned(3, 3, 3))) {
            assertThat(lb.zoneShares()).isEmpty();
            assertThat(lb.localZone()).isEmpty();
        }
    }

    @Test
    void serversWithoutAZoneAreRemote() {
        List<Server> servers = new ArrayList<>(zoned(3));
        for (int i = 0; i < 3; i++) {
            servers.add(Server.builder("10.9.0." + (i + 1), 8080).id("x" + i).build());
        }
        try (LoadBalancer lb = balancer("a", Strategy.roundRobin(), servers)) {
            lb.pool().drain("a0");
            // H(a) = 2/5, E(a) = 3/6: a keeps 4/5; the zoneless servers take the rest.
            assertThat(lb.zoneShares()).containsExactly(Map.entry("a", 8_000), Map.entry("", 2_000));
            assertThat(zoneCounts(lb, 5_000)).containsExactly(Map.entry("a", 4_000), Map.entry("x", 1_000));
        }
    }

    @Test
    void badZone_namesTheField() {
        assertThatThrownBy(() -> LoadBalancer.builder().localZone(""))
                .hasMessage("zone: '' (expected: 1-128 printable ASCII characters, no spaces)");
        assertThatThrownBy(() -> Server.builder("10.0.0.1", 80).zone("eu west"))
                .hasMessageStartingWith("zone: 'eu west'");
        assertThatThrownBy(() -> LoadBalancer.builder().zoneAwareMinServers(0))
                .hasMessage("zoneAwareMinServers: 0 (expected: >= 1)");
    }
}
