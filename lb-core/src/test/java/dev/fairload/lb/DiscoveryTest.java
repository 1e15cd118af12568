package dev.fairload.lb;

import static dev.fairload.lb.Servers.balancer;
import static dev.fairload.lb.Servers.numbered;
import static dev.fairload.lb.Servers.pickId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class DiscoveryTest {

    /** A source whose sets the test delivers by hand. */
    static final class ManualSource implements ServerSource {
        private final String name;
        private volatile Listener listener;
        private volatile boolean closed;

        ManualSource(String name) {
            this.name = name;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public void start(Listener listener) {
            this.listener = listener;
        }

        void deliver(List<Server> servers) {
            listener.update(servers);
        }

        void deliver(List<Server> servers, java.util.Set<String> draining) {
            listener.update(servers, draining);
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    private static List<Server> range(int from, int to) {
        return IntStream.range(from, to)
                .mapToObj(i -> Server.builder("10.0." + (i / 250) + "." + (1 + i % 250), 8080)
                        .id("d" + i)
                        .build())
                .toList();
    }

    private static List<String> ids(LoadBalancer lb) {
        return lb.pool().list().stream().map(ServerView::id).sorted().toList();
    }

    @Test
    void apply_thousandChangesPublishOneSnapshot() {
        try (LoadBalancer lb = balancer(Strategy.consistentHash(), range(0, 1_000))) {
            long before = lb.snapshotGeneration();
            ServerPool.Batch batch = ServerPool.batch();
            range(0, 500).forEach(s -> batch.remove(s.id()));
            range(1_000, 1_500).forEach(batch::add);
            lb.pool().apply(batch);
            assertThat(lb.snapshotGeneration()).isEqualTo(before + 1);
            assertThat(lb.pool().size()).isEqualTo(1_000);
            assertThat(lb.pool().get("d0")).isEmpty();
            assertThat(lb.pool().get("d1499")).isPresent();
        }
    }

    @Test
    void apply_oneBadChangeAppliesNothing() {
        try (LoadBalancer lb = balancer(Strategy.roundRobin(), numbered(3))) {
            long before = lb.snapshotGeneration();
            ServerPool.Batch unknown =
                    ServerPool.batch().add(range(0, 1).get(0)).remove("s0").remove("nope");
            assertThatThrownBy(() -> lb.pool().apply(unknown)).isInstanceOf(NoSuchElementException.class);
            ServerPool.Batch duplicate =
                    ServerPool.batch().add(range(0, 1).get(0)).add(range(0, 1).get(0));
            assertThatThrownBy(() -> lb.pool().apply(duplicate))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("d0");
            assertThatThrownBy(() -> ServerPool.batch().weight("s0", 0)).hasMessage("weight: 0 (expected: 1-1000)");
            assertThat(lb.snapshotGeneration()).isEqualTo(before);
            assertThat(ids(lb)).containsExactly("s0", "s1", "s2");
        }
    }

    @Test
    void discovery_followsItsSourceInOneSnapshotPerChange() {
        ManualSource source = new ManualSource("manual");
        try (LoadBalancer lb = balancer(Strategy.roundRobin(), List.of());
                Discovery discovery = Discovery.attach(lb.pool(), source)) {
            assertThat(discovery.whenReady()).isNotDone();
            source.deliver(range(0, 3));
            assertThat(discovery.whenReady()).isDone();
            assertThat(ids(lb)).containsExactly("d0", "d1", "d2");
            assertThat(lb.pool().get("d0").orElseThrow().server().source()).contains("manual");

            long before = lb.snapshotGeneration();
            List<Server> next = new ArrayList<>(range(1, 4));
            next.set(0, next.get(0).withWeight(5));
            source.deliver(next);
            assertThat(lb.snapshotGeneration()).isEqualTo(before + 1);
            assertThat(ids(lb)).containsExactly("d1", "d2", "d3");
            assertThat(lb.pool().get("d1").orElseThrow().server().weight()).isEqualTo(5);

            // The same set again changes nothing.
            source.deliver(next);
            assertThat(lb.snapshotGeneration()).isEqualTo(before + 1);
        }
        assertThat(source.closed).isTrue();
    }

    @Test
    void discovery_weightSetByHandStaysUntilTheSourceChangesIt() {
        ManualSource source = new ManualSource("manual");
        try (LoadBalancer lb = balancer(Strategy.roundRobin(), List.of());
                Discovery discovery = Discovery.attach(lb.pool(), source)) {
            source.deliver(range(0, 2));
            lb.pool().setWeight("d0", 7);
            source.deliver(range(0, 3));
            assertThat(lb.pool().get("d0").orElseThrow().server().weight()).isEqualTo(7);
            List<Server> reweighted = new ArrayList<>(range(0, 3));
            reweighted.set(0, reweighted.get(0).withWeight(2));
            source.deliver(reweighted);
            assertThat(lb.pool().get("d0").orElseThrow().server().weight()).isEqualTo(2);
        }
    }

    @Test
    void discovery_removedServerFinishesInFlightAndSessionsFailOver() {
        ManualSource source = new ManualSource("manual");
        try (LoadBalancer lb = balancer(Strategy.roundRobin(), List.of());
                Discovery discovery = Discovery.attach(lb.pool(), source)) {
            source.deliver(range(0, 2));
            PickContext session = PickContext.builder().sessionKey("alice").build();
            Lease inFlight = lb.pick(session);
            String bound = inFlight.server().id();
            assertThat(lb.sessionServer("alice")).isEqualTo(bound);
            source.deliver(
                    range(0, 2).stream().filter(s -> !s.id().equals(bound)).toList());
            assertThat(lb.pool().get(bound)).isEmpty();
            inFlight.complete(200);
            inFlight.close();
            String other = bound.equals("d0") ? "d1" : "d0";
            assertThat(pickId(lb, session)).isEqualTo(other);
            assertThat(lb.sessionServer("alice")).isEqualTo(other);
        }
    }

    @Test
    void discovery_combinedSourcesEachKeepTheirOwnServers() {
        ServerSource fixed = ServerSource.of("static", range(0, 2));
        ManualSource dynamic = new ManualSource("dynamic");
        try (LoadBalancer lb = balancer(Strategy.roundRobin(), List.of());
                Discovery discovery = Discovery.attach(lb.pool(), fixed, dynamic)) {
            dynamic.deliver(range(2, 5));
            assertThat(ids(lb)).containsExactly("d0", "d1", "d2", "d3", "d4");
            dynamic.deliver(range(4, 5));
            assertThat(ids(lb)).containsExactly("d0", "d1", "d4");
            assertThat(lb.pool().get("d0").orElseThrow().server().source()).contains("static");
            assertThat(lb.pool().get("d4").orElseThrow().server().source()).contains("dynamic");
        }
    }

    @Test
    void discovery_leavesServersAddedByHandAlone() {
        ManualSource source = new ManualSource("manual");
        try (LoadBalancer lb = balancer(Strategy.roundRobin(), List.of());
                Discovery discovery = Discovery.attach(lb.pool(), source)) {
            Server byHand = Server.builder("10.0.0.1", 8080).id("hand").build();
            lb.pool().add(byHand);
            source.deliver(range(0, 2)); // d0 has the same address as the server added by hand
            assertThat(ids(lb)).containsExactly("d1", "hand");
            source.deliver(List.of());
            assertThat(ids(lb)).containsExactly("hand");
            assertThat(lb.pool().get("hand").orElseThrow().server().source()).isEmpty();
        }
    }

    @Test
    void discovery_terminatingServersDrainThenLeave() {
        ManualSource source = new ManualSource("manual");
        try (LoadBalancer lb = balancer(Strategy.roundRobin(), List.of());
                Discovery discovery = Discovery.attach(lb.pool(), source)) {
            source.deliver(range(0, 3), java.util.Set.of("d1"));
            assertThat(lb.pool().get("d1").orElseThrow().status()).isEqualTo(ServerStatus.DRAINING);
            for (int i = 0; i < 20; i++) {
                assertThat(pickId(lb, PickContext.empty())).isNotEqualTo("d1");
            }
            source.deliver(range(0, 3), java.util.Set.of());
            assertThat(lb.pool().get("d1").orElseThrow().status()).isEqualTo(ServerStatus.HEALTHY);
            source.deliver(range(0, 3), java.util.Set.of("d2"));
            source.deliver(range(0, 2), java.util.Set.of());
            assertThat(ids(lb)).containsExactly("d0", "d1");
        }
    }
}
