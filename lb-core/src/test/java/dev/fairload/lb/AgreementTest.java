package dev.fairload.lb;

import static dev.fairload.lb.Servers.balancer;
import static dev.fairload.lb.Servers.numbered;
import static dev.fairload.lb.Servers.pickId;
import static dev.fairload.lb.StrategyTest.address;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;

/** Separate balancer instances with the same servers agree, whatever order the servers came in. */
class AgreementTest {
    private static final int CLIENTS = 1_000;

    @Test
    void ipHash_sameServersInAnotherOrderMapEveryClientAlike() {
        assertAgreement(
                Strategy.ipHash(),
                i -> PickContext.builder().clientAddress(address(i)).build());
    }

    @Test
    void consistentHash_sameServersInAnotherOrderMapEveryKeyAlike() {
        assertAgreement(
                Strategy.consistentHash(),
                i -> PickContext.builder().hashKey("user-" + i).build());
    }

    @Test
    void ipHash_weightedServersInAnotherOrderAgree() {
        List<Server> servers = new ArrayList<>();
        for (Server s : numbered(12)) {
            servers.add(s.withWeight(1 + s.port() % 7 + servers.size() % 5));
        }
        List<Server> shuffled = shuffled(servers, 3);
        try (LoadBalancer a = balancer(Strategy.ipHash(), servers);
                LoadBalancer b = balancer(Strategy.ipHash(), shuffled)) {
            for (int i = 0; i < CLIENTS; i++) {
                PickContext context =
                        PickContext.builder().clientAddress(address(i)).build();
                assertThat(pickId(b, context)).as("client %s", address(i)).isEqualTo(pickId(a, context));
            }
        }
    }

    @Test
    void ipHash_serversAddedOneByOneAtRuntimeAgreeWithABuiltPool() {
        List<Server> servers = numbered(10);
        try (LoadBalancer built = balancer(Strategy.ipHash(), servers);
                LoadBalancer grown = balancer(Strategy.ipHash(), List.of())) {
            shuffled(servers, 11).forEach(grown.pool()::add);
            for (int i = 0; i < CLIENTS; i++) {
                PickContext context =
                        PickContext.builder().clientAddress(address(i)).build();
                assertThat(pickId(grown, context)).isEqualTo(pickId(built, context));
            }
        }
    }

    @Test
    void balancerCookie_issuedByOneInstanceIsHonouredByAnother() {
        List<Server> servers = numbered(10);
        try (LoadBalancer a = balancer(Strategy.roundRobin(), servers);
                LoadBalancer b = balancer(Strategy.roundRobin(), shuffled(servers, 5))) {
            for (int i = 0; i < 20; i++) {
                String token;
                String serverId;
                try (Lease lease = a.pick(PickContext.empty())) {
                    token = lease.server().stickyToken();
                    serverId = lease.server().id();
                    lease.complete(200);
                }
                PickContext sticky = PickContext.builder().stickyToken(token).build();
                for (int k = 0; k < 3; k++) {
                    assertThat(pickId(b, sticky)).isEqualTo(serverId);
                }
            }
        }
    }

    /**
     * Two instances, one built with the servers in reverse and one shuffled: every client maps alike; then the
     * same server leaves both, and both move exactly the same clients: every client of the leaving server, and
     * few others (Maglev's near-minimal disruption).
     */
    private static void assertAgreement(Strategy strategy, IntFunction<PickContext> client) {
        List<Server> servers = numbered(10);
        List<Server> reversed = new ArrayList<>(servers);
        Collections.reverse(reversed);
        try (LoadBalancer a = balancer(strategy, reversed);
                LoadBalancer b = balancer(strategy, shuffled(servers, 42))) {
            String[] before = new String[CLIENTS];
            for (int i = 0; i < CLIENTS; i++) {
                before[i] = pickId(a, client.apply(i));
                assertThat(pickId(b, client.apply(i))).as("client %d", i).isEqualTo(before[i]);
            }
            a.pool().remove("s7");
            b.pool().remove("s7");
            int ofLeaving = 0;
            int othersMoved = 0;
            for (int i = 0; i < CLIENTS; i++) {
                String afterA = pickId(a, client.apply(i));
                assertThat(pickId(b, client.apply(i))).as("client %d", i).isEqualTo(afterA);
                if (before[i].equals("s7")) {
                    ofLeaving++;
                    assertThat(afterA).isNotEqualTo("s7");
                } else if (!afterA.equals(before[i])) {
                    othersMoved++;
                }
            }
            assertThat(ofLeaving).isBetween(CLIENTS / 10 - 30, CLIENTS / 10 + 30);
            // Maglev moves a few keys of the remaining servers too; modulo hashing would move about 90%.
            assertThat(othersMoved).isLessThanOrEqualTo(CLIENTS / 100);
        }
    }

    private static List<Server> shuffled(List<Server> servers, long seed) {
        List<Server> copy = new ArrayList<>(servers);
        Collections.shuffle(copy, new Random(seed));
        return copy;
    }
}
