package dev.fairload.lb;

import static dev.fairload.lb.Servers.balancer;
import static dev.fairload.lb.Servers.numbered;
import static dev.fairload.lb.Servers.pickId;
import static dev.fairload.lb.Servers.server;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

class StrategyTest {

    @Test
    void roundRobin_exactRotation() {
        try (LoadBalancer lb = balancer(Strategy.roundRobin(), numbered(5))) {
            Map<String, Integer> counts = new HashMap<>();
            for (int i = 0; i < 5 * 200; i++) {
                counts.merge(pickId(lb, PickContext.empty()), 1, Integer::sum);
            }
            assertThat(counts).hasSize(5).allSatisfy((id, n) -> assertThat(n).isEqualTo(200));
        }
    }

    @Test
    void roundRobin_exactWithEightThreads() throws Exception {
        int servers = 7;
        int perServer = 4_000;
        try (LoadBalancer lb = balancer(Strategy.roundRobin(), numbered(servers))) {
            Map<String, LongAdder> counts = new ConcurrentHashMap<>();
            runConcurrently(
                    8,
                    servers * perServer,
                    () -> counts.computeIfAbsent(pickId(lb, PickContext.empty()), k -> new LongAdder())
                            .increment());
            assertThat(counts).hasSize(servers);
            counts.values().forEach(c -> assertThat(c.sum()).isEqualTo(perServer));
        }
    }

    @Test
    void weighted_exactSharesWithoutBursts() {
        List<Server> servers = List.of(server("a", 5), server("b", 3), server("c", 2));
        try (LoadBalancer lb = balancer(Strategy.weighted(), servers)) {
            Map<String, Integer> counts = new HashMap<>();
            String previous = null;
            int run = 0;
            int longestRunOfA = 0;
            StringBuilder firstCycle = new StringBuilder();
            for (int i = 0; i < 10_000; i++) {
                String id = pickId(lb, PickContext.empty());
                counts.merge(id, 1, Integer::sum);
                run = id.equals(previous) ? run + 1 : 1;
                if (id.equals("a")) {
                    longestRunOfA = Math.max(longestRunOfA, run);
                }
                previous = id;
                if (i < 10) {
                    firstCycle.append(id);
                }
            }
            assertThat(counts)
                    .containsEntry("a", 5_000)
                    .containsEntry("b", 3_000)
                    .containsEntry("c", 2_000);
            assertThat(longestRunOfA).isLessThanOrEqualTo(2);
            assertThat(firstCycle.toString()).isEqualTo("abcaabacba");
        }
    }

    @Test
    void weighted_followsWeightChange() {
        List<Server> servers = List.of(server("a", 1), server("b", 1));
        try (LoadBalancer lb = balancer(Strategy.weighted(), servers)) {
            lb.pool().setWeight("a", 3);
            Map<String, Integer> counts = new HashMap<>();
            for (int i = 0; i < 400; i++) {
                counts.merge(pickId(lb, PickContext.empty()), 1, Integer::sum);
            }
            assertThat(counts).containsEntry("a", 300).containsEntry("b", 100);
        }
    }

    @Test
    void leastConnections_avoidsBusyServers() {
        List<Server> servers = List.of(server("a", 1), server("b", 1), server("c", 1));
        try (LoadBalancer lb = balancer(Strategy.leastConnections(), servers)) {
            Lease first = lb.pick();
            Lease second = lb.pick();
            assertThat(List.of(first.server().id(), second.server().id())).doesNotHaveDuplicates();
            String free = servers.stream()
                    .map(Server::id)
                    .filter(id -> !id.equals(first.server().id())
                            && !id.equals(second.server().id()))
                    .findFirst()
                    .orElseThrow();
            for (int i = 0; i < 10; i++) {
                assertThat(pickId(lb, PickContext.empty())).isEqualTo(free);
            }
            first.close();
            second.close();
        }
    }

    @Test
    void leastConnections_tiesSpreadEvenly() {
        try (LoadBalancer lb = balancer(Strategy.leastConnections(), numbered(4))) {
            Map<String, Integer> counts = new HashMap<>();
            for (int i = 0; i < 4_000; i++) {
                counts.merge(pickId(lb, PickContext.empty()), 1, Integer::sum);
            }
            assertThat(counts).hasSize(4).allSatisfy((id, n) -> assertThat(n).isEqualTo(1_000));
        }
    }

    /** Idle servers share sequential requests in proportion to weight, as nginx's least_conn does. */
    @Test
    void leastConnections_idleServersShareByWeight() {
        List<Server> servers = List.of(server("heavy", 3), server("light", 1));
        try (LoadBalancer lb = balancer(Strategy.leastConnections(), servers)) {
            Map<String, Integer> counts = new HashMap<>();
            for (int i = 0; i < 4_000; i++) {
                counts.merge(pickId(lb, PickContext.empty()), 1, Integer::sum);
            }
            assertThat(counts.get("heavy")).isBetween(2_800, 3_200);
            assertThat(counts.get("light")).isBetween(800, 1_200);
        }
    }

    @Test
    void leastConnections_weightAware() {
        List<Server> servers = List.of(server("heavy", 3), server("light", 1));
        try (LoadBalancer lb = balancer(Strategy.leastConnections(), servers)) {
            List<Lease> held = new ArrayList<>();
            for (int i = 0; i < 400; i++) {
                held.add(lb.pick());
            }
            long heavy =
                    held.stream().filter(l -> l.server().id().equals("heavy")).count();
            assertThat(heavy).isBetween(290L, 310L);
            held.forEach(Lease::close);
        }
    }

    @Test
    void ipHash_sameAddressSameServer() {
        try (LoadBalancer lb = balancer(Strategy.ipHash(), numbered(10))) {
            for (int i = 0; i < 1_000; i++) {
                PickContext ctx =
                        PickContext.builder().clientAddress(address(i)).build();
                String first = pickId(lb, ctx);
                for (int k = 0; k < 3; k++) {
                    assertThat(pickId(lb, ctx)).isEqualTo(first);
                }
            }
        }
    }

    @Test
    void ipHash_removingOneOfTenRemapsLittle() {
        assertMinimalRemap(
                Strategy.ipHash(),
                i -> PickContext.builder().clientAddress(address(i)).build());
    }

    @Test
    void consistentHash_sameKeySameServerAndMinimalRemap() {
        try (LoadBalancer lb = balancer(Strategy.consistentHash(), numbered(10))) {
            PickContext ctx = PickContext.builder().hashKey("user-42").build();
            String first = pickId(lb, ctx);
            for (int i = 0; i < 100; i++) {
                assertThat(pickId(lb, ctx)).isEqualTo(first);
            }
        }
        assertMinimalRemap(
                Strategy.consistentHash(),
                i -> PickContext.builder().hashKey("key-" + i).build());
    }

    private static void assertMinimalRemap(Strategy strategy, java.util.function.IntFunction<PickContext> key) {
        int keys = 10_000;
        try (LoadBalancer lb = balancer(strategy, numbered(10))) {
            String[] before = new String[keys];
            Map<String, Integer> share = new HashMap<>();
            for (int i = 0; i < keys; i++) {
                before[i] = pickId(lb, key.apply(i));
                share.merge(before[i], 1, Integer::sum);
            }
            // Each of 10 servers holds about a tenth of the keys.
            assertThat(share).hasSize(10).allSatisfy((id, n) -> assertThat(n).isBetween(800, 1_200));
            lb.pool().remove("s3");
            int moved = 0;
            for (int i = 0; i < keys; i++) {
                String after = pickId(lb, key.apply(i));
                assertThat(after).isNotEqualTo("s3");
                if (!after.equals(before[i])) {
                    moved++;
                }
            }
            // The removed server's tenth must move; little else may. Modulo hashing would move about 90%.
            assertThat(moved).isGreaterThanOrEqualTo(share.get("s3")).isLessThanOrEqualTo(keys * 15 / 100);
        }
    }

    @Test
    void random_seededIsUniform() {
        int servers = 10;
        int picks = 100_000;
        try (LoadBalancer lb = balancer(Strategy.random(42), numbered(servers))) {
            Map<String, Integer> counts = new HashMap<>();
            for (int i = 0; i < picks; i++) {
                counts.merge(pickId(lb, PickContext.empty()), 1, Integer::sum);
            }
            double expected = (double) picks / servers;
            double chiSquare = counts.values().stream()
                    .mapToDouble(n -> (n - expected) * (n - expected) / expected)
                    .sum();
            // Critical value of the chi-square distribution with 9 degrees of freedom at p = 0.001.
            assertThat(counts).hasSize(servers);
            assertThat(chiSquare).isLessThan(27.877);
        }
    }

    @Test
    void random_sameSeedSamePicks() {
        List<String> first = new ArrayList<>();
        List<String> second = new ArrayList<>();
        try (LoadBalancer a = balancer(Strategy.random(7), numbered(10));
                LoadBalancer b = balancer(Strategy.random(7), numbered(10))) {
            for (int i = 0; i < 100; i++) {
                first.add(pickId(a, PickContext.empty()));
                second.add(pickId(b, PickContext.empty()));
            }
        }
        assertThat(first).isEqualTo(second);
    }

    @Test
    void powerOfTwo_busyServerRarelyPicked() {
        try (LoadBalancer lb = balancer(Strategy.powerOfTwo(), numbered(10))) {
            String token = lb.pool().get("s0").orElseThrow().server().stickyToken();
            PickContext pinned = PickContext.builder().stickyToken(token).build();
            List<Lease> held = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                held.add(lb.pick(pinned));
            }
            assertThat(lb.pool().get("s0").orElseThrow().inFlight()).isEqualTo(10);
            int busy = 0;
            for (int i = 0; i < 1_000; i++) {
                if (pickId(lb, PickContext.empty()).equals("s0")) {
                    busy++;
                }
            }
            assertThat(busy).isLessThan(50);
            held.forEach(Lease::close);
        }
    }

    @Test
    void leastResponseTime_slowServerGetsLittleTraffic() {
        FakeTicker ticker = new FakeTicker();
        LoadBalancer.Builder b =
                LoadBalancer.builder().strategy(Strategy.leastResponseTime()).ticker(ticker);
        numbered(5).forEach(b::addServer);
        try (LoadBalancer lb = b.build()) {
            int slow = 0;
            int picks = 10_000;
            for (int i = 0; i < picks; i++) {
                try (Lease lease = lb.pick()) {
                    boolean isSlow = lease.server().id().equals("s0");
                    Duration latency = Duration.ofMillis(isSlow ? 20 : 2);
                    ticker.advance(Duration.ofMillis(1));
                    lease.complete(200, latency.toNanos());
                    if (isSlow) {
                        slow++;
                    }
                }
            }
            assertThat(slow).isLessThan(picks / 10);
        }
    }

    @Test
    void everyStrategy_picksOnlyHealthyServers() {
        for (Strategy strategy : Strategy.all()) {
            try (LoadBalancer lb = balancer(strategy, numbered(4))) {
                lb.pool().drain("s1");
                lb.pool().drain("s2");
                for (int i = 0; i < 200; i++) {
                    PickContext ctx = PickContext.builder()
                            .clientAddress(address(i))
                            .hashKey("k" + i)
                            .build();
                    assertThat(pickId(lb, ctx)).as(strategy.name()).isIn("s0", "s3");
                }
            }
        }
    }

    @Test
    void everyStrategy_avoidsExcludedServers() {
        for (Strategy strategy : Strategy.all()) {
            try (LoadBalancer lb = balancer(strategy, numbered(3))) {
                for (int i = 0; i < 100; i++) {
                    PickContext ctx = PickContext.builder()
                            .clientAddress(address(i))
                            .hashKey("k" + i)
                            .build();
                    try (Lease first = lb.pick(ctx)) {
                        PickContext retry = ctx.withExcluded(first.server());
                        try (Lease second = lb.pick(retry)) {
                            assertThat(second.server().id())
                                    .as(strategy.name())
                                    .isNotEqualTo(first.server().id());
                            try (Lease third = lb.pick(retry.withExcluded(second.server()))) {
                                assertThat(third.server().id())
                                        .isNotIn(
                                                first.server().id(),
                                                second.server().id());
                                PickContext all =
                                        retry.withExcluded(second.server()).withExcluded(third.server());
                                assertThat(lb.pick(all).unavailableReason()).isEqualTo(Lease.Unavailable.ALL_TRIED);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void pick_reportsWhyNothingWasPicked() {
        try (LoadBalancer lb = LoadBalancer.builder().build()) {
            Lease none = lb.pick();
            assertThat(none.isAcquired()).isFalse();
            assertThat(none.unavailableReason()).isEqualTo(Lease.Unavailable.NO_SERVERS);
            assertThatThrownBy(none::server).isInstanceOf(IllegalStateException.class);
            none.complete(200);
            lb.pool().add(server("a", 1));
            lb.pool().drain("a");
            assertThat(lb.pick().unavailableReason()).isEqualTo(Lease.Unavailable.NO_HEALTHY_SERVER);
            assertThat(lb.metrics().noServerAvailable()).isEqualTo(2);
            assertThat(lb.metrics().totalRequests()).isZero();
        }
    }

    @Test
    void byName_knowsEveryStrategyAndRejectsOthers() {
        assertThat(Strategy.names())
                .containsExactly(
                        "round_robin",
                        "least_connections",
                        "weighted",
                        "ip_hash",
                        "random",
                        "power_of_two",
                        "least_response_time",
                        "consistent_hash");
        for (String name : Strategy.names()) {
            assertThat(Strategy.byName(name).name()).isEqualTo(name);
        }
        assertThatThrownBy(() -> Strategy.byName("fastest"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("algorithm: 'fastest'")
                .hasMessageContaining("round_robin, least_connections, weighted");
    }

    @Test
    void strategySwitchUnderLoad_losesNoRequest() throws Exception {
        try (LoadBalancer lb = balancer(Strategy.roundRobin(), numbered(6))) {
            int perThread = 20_000;
            int threads = 4;
            ExecutorService switcher = Executors.newSingleThreadExecutor();
            CountDownLatch done = new CountDownLatch(1);
            Future<Integer> switches = switcher.submit(() -> {
                int n = 0;
                while (!done.await(0, TimeUnit.MILLISECONDS)) {
                    lb.strategy(Strategy.all().get(n++ % Strategy.all().size()));
                }
                return n;
            });
            LongAdder picked = new LongAdder();
            try {
                runConcurrently(threads, threads * perThread, () -> {
                    PickContext ctx = PickContext.builder()
                            .clientAddress("127.0.0.1")
                            .hashKey("k")
                            .build();
                    try (Lease lease = lb.pick(ctx)) {
                        if (lease.isAcquired()) {
                            picked.increment();
                            lease.complete(200);
                        }
                    }
                });
            } finally {
                done.countDown();
                assertThat(switches.get(10, TimeUnit.SECONDS)).isGreaterThan(1);
                switcher.shutdown();
            }
            long recorded = lb.pool().list().stream()
                    .mapToLong(ServerView::totalRequests)
                    .sum();
            assertThat(picked.sum()).isEqualTo((long) threads * perThread);
            assertThat(recorded).isEqualTo(picked.sum());
            assertThat(lb.metrics().totalRequests()).isEqualTo(picked.sum());
            assertThat(lb.pool().list())
                    .allSatisfy(v -> assertThat(v.inFlight()).isZero());
        }
    }

    static String address(int i) {
        return "127." + (i >> 16 & 255) + "." + (i >> 8 & 255) + "." + (i & 255);
    }

    /** Runs {@code total} calls of {@code task} spread over {@code threads} threads, all starting together. */
    static void runConcurrently(int threads, int total, Runnable task) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int share = total / threads + (t < total % threads ? 1 : 0);
                futures.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < share; i++) {
                        task.run();
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
