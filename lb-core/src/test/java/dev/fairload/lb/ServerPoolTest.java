package dev.fairload.lb;

import static dev.fairload.lb.Servers.server;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fairload.lb.event.LbEvent;
import dev.fairload.lb.event.Subscription;
import java.time.Duration;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ServerPoolTest {

    @Test
    void add_rejectsDuplicateAddressAndChangesNothing() {
        try (LoadBalancer lb = LoadBalancer.builder().build()) {
            lb.pool().add(Server.builder("127.0.0.1", 9001).id("a").build());
            assertThatThrownBy(() -> lb.pool()
                            .add(Server.builder("127.0.0.1", 9001).id("b").build()))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("127.0.0.1:9001")
                    .hasMessageContaining("a");
            assertThatThrownBy(() -> lb.pool()
                            .add(Server.builder("127.0.0.2", 9001).id("a").build()))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("serverId: 'a'");
            assertThat(lb.pool().list()).extracting(ServerView::id).containsExactly("a");
        }
    }

    @Test
    void unknownId_namesTheField() {
        try (LoadBalancer lb = LoadBalancer.builder().build()) {
            assertThatThrownBy(() -> lb.pool().remove("nope"))
                    .isInstanceOf(NoSuchElementException.class)
                    .hasMessage("serverId: 'nope' (no such server)");
            assertThatThrownBy(() -> lb.pool().setWeight("nope", 3)).isInstanceOf(NoSuchElementException.class);
            assertThatThrownBy(() -> lb.pool().drain("nope")).isInstanceOf(NoSuchElementException.class);
            assertThat(lb.pool().get("nope")).isEmpty();
        }
    }

    @Test
    void setWeight_outOfRange_changesNothing() {
        try (LoadBalancer lb = LoadBalancer.builder().addServer(server("a", 4)).build()) {
            assertThatThrownBy(() -> lb.pool().setWeight("a", 0))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("weight: 0 (expected: 1-1000)");
            assertThatThrownBy(() -> lb.pool().setWeight("a", 1001)).hasMessage("weight: 1001 (expected: 1-1000)");
            assertThat(lb.pool().get("a").orElseThrow().server().weight()).isEqualTo(4);
        }
    }

    @Test
    void listeners_receiveEveryChangeInOrder() {
        try (LoadBalancer lb = LoadBalancer.builder().build()) {
            List<LbEvent> events = new CopyOnWriteArrayList<>();
            Subscription subscription = lb.addListener(events::add);
            lb.pool().add(server("a", 1));
            lb.pool().setWeight("a", 5);
            lb.pool().drain("a");
            lb.pool().undrain("a");
            lb.pool().remove("a");
            await().atMost(20, TimeUnit.SECONDS).until(() -> events.size() == 5);
            assertThat(events.get(0)).isInstanceOf(LbEvent.ServerAdded.class);
            assertThat(events.get(1))
                    .isEqualTo(new LbEvent.WeightChanged(events.get(1).server(), 1, 5));
            assertThat(events.get(2))
                    .isEqualTo(new LbEvent.StatusChanged(
                            events.get(2).server(), ServerStatus.HEALTHY, ServerStatus.DRAINING, "drain"));
            assertThat(((LbEvent.StatusChanged) events.get(3)).to()).isEqualTo(ServerStatus.HEALTHY);
            assertThat(events.get(4)).isInstanceOf(LbEvent.ServerRemoved.class);
            subscription.close();
            lb.pool().add(server("b", 1));
            lb.pool().remove("b");
            // Delivery is ordered: once a later listener saw both events, the closed one would have too.
            List<LbEvent> later = new CopyOnWriteArrayList<>();
            lb.addListener(later::add);
            lb.pool().add(server("c", 1));
            await().atMost(20, TimeUnit.SECONDS).until(() -> later.size() == 1);
            assertThat(events).hasSize(5);
        }
    }

    @Test
    void throwingListener_doesNotStopOthers() {
        try (LoadBalancer lb = LoadBalancer.builder().build()) {
            List<LbEvent> events = new CopyOnWriteArrayList<>();
            lb.addListener(e -> {
                throw new IllegalStateException("listener bug");
            });
            lb.addListener(events::add);
            lb.pool().add(server("a", 1));
            lb.pool().add(server("b", 1));
            await().atMost(20, TimeUnit.SECONDS).until(() -> events.size() == 2);
        }
    }

    @Test
    void drain_stopsNewRequestsWhileInFlightFinish() {
        try (LoadBalancer lb = LoadBalancer.builder()
                .addServer(server("a", 1))
                .addServer(server("b", 1))
                .build()) {
            Lease onA = lb.pick();
            while (!onA.server().id().equals("a")) {
                onA.close();
                onA = lb.pick();
            }
            lb.pool().drain("a");
            assertThat(lb.pool().get("a").orElseThrow().status()).isEqualTo(ServerStatus.DRAINING);
            for (int i = 0; i < 20; i++) {
                assertThat(Servers.pickId(lb, PickContext.empty())).isEqualTo("b");
            }
            onA.complete(200);
            assertThat(lb.pool().get("a").orElseThrow().totalRequests()).isEqualTo(1);
        }
    }

    @Test
    void removeGracefully_waitsForInFlight() throws Exception {
        try (LoadBalancer lb = LoadBalancer.builder().addServer(server("a", 1)).build()) {
            Lease lease = lb.pick();
            CompletableFuture<Server> removal = lb.pool().removeGracefully("a", Duration.ofSeconds(30));
            assertThat(removal).isNotDone();
            assertThat(lb.pool().get("a").orElseThrow().status()).isEqualTo(ServerStatus.DRAINING);
            lease.complete(200);
            assertThat(removal.get(5, TimeUnit.SECONDS).id()).isEqualTo("a");
            assertThat(lb.pool().size()).isZero();
        }
    }

    @Test
    void removeGracefully_givesUpAfterTimeout() throws Exception {
        try (LoadBalancer lb = LoadBalancer.builder().addServer(server("a", 1)).build()) {
            Lease lease = lb.pick();
            CompletableFuture<Server> removal = lb.pool().removeGracefully("a", Duration.ofMillis(50));
            assertThat(removal.get(5, TimeUnit.SECONDS).id()).isEqualTo("a");
            lease.complete(200);
            assertThat(lb.metrics().inFlight()).isZero();
        }
    }
}
