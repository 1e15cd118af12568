package dev.fairload.lb.servlet.standalone;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fault-injection suite: steady traffic (500 requests per second, one POST in ten) through the standalone jar,
 * run as a child process, to three raw-socket backends on loopback, and one fault per test while it runs. Each test
 * asserts the client-visible errors (none for GETs, POST failures only for bodies that reached the faulty server),
 * that every in-flight count returns to 0, and that no server or setting is lost, and prints one {@code FAULT} line
 * (also appended to {@code target/fault-summary.txt}) with the figures that docs/reliability.md reports.
 *
 * <p>The proxy runs with short health intervals (checks every 2 s, 1 s timeout), a 1 s response-headers timeout per
 * attempt and the default 256 requests per server at most, so that each fault plays out in a few seconds.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class FaultInjectionIT {
    /** Requests per second; 500 by default, lower with -Dfairload.faultRate=N on a machine that cannot keep up. */
    private static final int RATE = Integer.getInteger("fairload.faultRate", 500);

    @TempDir
    Path dir;

    private FaultHarness h;

    @BeforeEach
    void start() throws Exception {
        h = new FaultHarness(dir);
    }

    @AfterEach
    void stop() throws Exception {
        h.close();
    }

    /** Waits until {@code traffic} has sent {@code seconds} worth of requests. */
    private static void warmUp(Traffic traffic, double seconds) {
        await().atMost(Duration.ofSeconds(30)).until(() -> traffic.sent() >= RATE * seconds);
    }

    /**
     * No POST reached a server twice or two servers (never resent), and every POST that failed either reached the
     * faulty server, or was sent to it between the kill and the ejection and failed with 502: such a POST was in
     * flight when the kill closed the connection, or was written to a pooled connection the kill had already closed
     * (the proxy cannot tell that the backend never read it, so rightly does not resend it), and the backend cannot
     * record what it never read.
     */
    private void assertPostsSafe(FaultHarness.Tally t, FaultBackend faulty, Duration eject) {
        Set<String> seen = new java.util.HashSet<>();
        for (FaultBackend b : h.backends) {
            assertThat(b.postsReceivedTwice)
                    .as("POSTs %s received twice", b.name)
                    .hasValue(0);
            for (String id : b.postsReceived) {
                assertThat(seen.add(id)).as("POST %s reached two servers", id).isTrue();
            }
        }
        long killedAt = faulty.killedAtNanos;
        long ejectedBy = killedAt + eject.toNanos();
        for (Traffic.Outcome o : t.postErrors()) {
            boolean sentToKilled = killedAt != 0
                    && o.status() == 502
                    && o.startNanos() <= ejectedBy
                    && o.startNanos() + o.nanos() >= killedAt;
            if (!sentToKilled) {
                assertThat(faulty.postsReceived)
                        .as("failed POST %s reached %s", o.id(), faulty.name)
                        .contains(o.id());
            }
        }
    }

    private void assertServers(String... ids) throws Exception {
        Set<String> actual = h.servers().stream()
                .map(s -> String.valueOf(s.get("serverId")))
                .collect(Collectors.toCollection(TreeSet::new));
        assertThat(actual).containsExactlyInAnyOrder(ids);
    }

    @Test
    void killOneBackend() throws Exception {
        Traffic traffic = h.traffic(RATE, 6);
        warmUp(traffic, 2);
        FaultBackend a = h.backend("a");
        long t0 = System.nanoTime();
        a.kill();
        Duration eject = h.awaitStatus("a", "unhealthy", t0, Duration.ofSeconds(15));
        FaultHarness.Tally t = FaultHarness.Tally.of(traffic.await(60));

        FaultHarness.summary("1 kill backend", t, eject, null, t.sample());
        assertThat(t.getErrors()).as("GET errors").isEmpty();
        assertPostsSafe(t, a, eject);
        h.assertNothingInFlight();
        assertServers("a", "b", "c");
    }

    @Test
    void backendHangs() throws Exception {
        faultThenRecover("2 hang backend", FaultBackend.Mode.HANG);
    }

    @Test
    void backendAnswersOneBytePerSecond() throws Exception {
        faultThenRecover("2b 1 byte/s backend", FaultBackend.Mode.SLOW);
    }

    @Test
    void backendAnswers500() throws Exception {
        faultThenRecover("3 500 to everything", FaultBackend.Mode.ERROR_500);
    }

    @Test
    void backendResetsMidResponse() throws Exception {
        faultThenRecover("4 reset mid-response", FaultBackend.Mode.RESET_MID_RESPONSE);
    }

    /** Puts backend a in {@code mode} after 2 s of traffic, back to normal once ejected; measures both. */
    private void faultThenRecover(String name, FaultBackend.Mode mode) throws Exception {
        Traffic traffic = h.traffic(RATE, 9);
        warmUp(traffic, 2);
        FaultBackend a = h.backend("a");
        long t0 = System.nanoTime();
        a.mode(mode);
        Duration eject = h.awaitStatus("a", "unhealthy", t0, Duration.ofSeconds(15));
        long t1 = System.nanoTime();
        a.mode(FaultBackend.Mode.OK);
        Duration readmit = h.awaitStatus("a", "healthy", t1, Duration.ofSeconds(40));
        FaultHarness.Tally t = FaultHarness.Tally.of(traffic.await(60));

        FaultHarness.summary(name, t, eject, readmit, t.sample());
        assertThat(t.getErrors()).as("GET errors").isEmpty();
        assertPostsSafe(t, a, eject);
        h.assertNothingInFlight();
        assertServers("a", "b", "c");
    }

    @Test
    void backendRestartsOnSamePort() throws Exception {
        Traffic traffic = h.traffic(RATE, 9);
        warmUp(traffic, 2);
        FaultBackend a = h.backend("a");
        long t0 = System.nanoTime();
        a.kill();
        Duration eject = h.awaitStatus("a", "unhealthy", t0, Duration.ofSeconds(15));
        long t1 = System.nanoTime();
        a.restart();
        Duration readmit = h.awaitStatus("a", "healthy", t1, Duration.ofSeconds(40));
        long before = a.requests.get();
        await().atMost(Duration.ofSeconds(10)).until(() -> a.requests.get() > before + 20);
        FaultHarness.Tally t = FaultHarness.Tally.of(traffic.await(60));

        FaultHarness.summary("5 restart backend", t, eject, readmit, t.sample());
        assertThat(t.getErrors()).as("GET errors").isEmpty();
        assertPostsSafe(t, a, eject);
        h.assertNothingInFlight();
        assertServers("a", "b", "c");
    }

    @Test
    void removeAndAddServerThroughAdminApi() throws Exception {
        Traffic traffic = h.traffic(RATE, 7);
        warmUp(traffic, 2);
        FaultBackend b = h.backend("b");
        long t0 = System.nanoTime();
        h.call("DELETE", "/api/servers/b", null);
        // Removed: no new request reaches b (requests in flight there finish).
        long[] last = {b.requests.get()};
        await().atMost(Duration.ofSeconds(5)).pollDelay(Duration.ofMillis(300)).until(() -> {
            long now = b.requests.get();
            boolean quiet = now == last[0];
            last[0] = now;
            return quiet;
        });
        Duration drained = Duration.ofNanos(System.nanoTime() - t0 - TimeUnit.MILLISECONDS.toNanos(300));
        long t1 = System.nanoTime();
        Map<String, Object> added =
                h.call("POST", "/api/servers", "{\"host\":\"127.0.0.1\",\"port\":" + b.port() + ",\"weight\":1}");
        @SuppressWarnings("unchecked")
        String newId = String.valueOf(((Map<String, Object>) added.get("data")).get("serverId"));
        long before = b.requests.get();
        await().atMost(Duration.ofSeconds(10)).until(() -> b.requests.get() > before + 20);
        Duration readmit = Duration.ofNanos(System.nanoTime() - t1);
        FaultHarness.Tally t = FaultHarness.Tally.of(traffic.await(60));

        FaultHarness.summary("6 admin remove+add", t, drained, readmit, t.sample());
        assertThat(t.getErrors()).as("GET errors").isEmpty();
        assertThat(t.postErrors()).as("POST errors").isEmpty();
        h.assertNothingInFlight();
        assertServers("a", "c", newId);
    }

    @Test
    void algorithmAndWeightsChangeEvery100Millis() throws Exception {
        List<String> algorithms =
                List.of("round_robin", "least_connections", "weighted", "power_of_two", "random", "ip_hash");
        Traffic traffic = h.traffic(RATE, 6);
        warmUp(traffic, 1);
        int changes = 0;
        String lastAlgorithm = null;
        int[] lastWeights = new int[3];
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(4);
        while (System.nanoTime() < end) {
            long tick = System.nanoTime();
            lastAlgorithm = algorithms.get(changes % algorithms.size());
            h.call("PUT", "/api/algorithm", "{\"algorithm\":\"" + lastAlgorithm + "\"}");
            String id = List.of("a", "b", "c").get(changes % 3);
            int weight = 1 + (changes * 7) % 5;
            lastWeights[changes % 3] = weight;
            h.call("PUT", "/api/servers/" + id + "/weight", "{\"weight\":" + weight + "}");
            changes++;
            long next = tick + TimeUnit.MILLISECONDS.toNanos(100);
            await().pollDelay(Duration.ZERO)
                    .pollInterval(Duration.ofMillis(5))
                    .atMost(Duration.ofSeconds(1))
                    .until(() -> System.nanoTime() >= next);
        }
        FaultHarness.Tally t = FaultHarness.Tally.of(traffic.await(60));

        FaultHarness.summary("7 admin churn", t, null, null, "changes=" + changes + " " + t.sample());
        assertThat(t.getErrors()).as("GET errors").isEmpty();
        assertThat(t.postErrors()).as("POST errors").isEmpty();
        h.assertNothingInFlight();
        @SuppressWarnings("unchecked")
        Map<String, Object> config =
                (Map<String, Object>) h.call("GET", "/api/config", null).get("data");
        assertThat(config.get("algorithm")).isEqualTo(lastAlgorithm);
        for (Map<String, Object> s : h.servers()) {
            int i = List.of("a", "b", "c").indexOf(String.valueOf(s.get("serverId")));
            if (lastWeights[i] != 0) {
                assertThat(((Number) s.get("weight")).intValue()).isEqualTo(lastWeights[i]);
            }
        }
    }

    @Test
    void proxyKilledAndRestarted() throws Exception {
        h.call("PUT", "/api/algorithm", "{\"algorithm\":\"least_connections\"}");
        h.call("PUT", "/api/servers/b/weight", "{\"weight\":3}");
        Traffic traffic = h.traffic(RATE, 8);
        warmUp(traffic, 2);
        long t0 = System.nanoTime();
        h.proxy.process.destroyForcibly(); // kill -9 of the process this test started
        h.proxy.process.waitFor(10, TimeUnit.SECONDS);
        h.startProxy();
        Duration down = Duration.ofNanos(System.nanoTime() - t0);
        long upAt = System.nanoTime();
        List<Traffic.Outcome> outcomes = traffic.await(60);
        FaultHarness.Tally t = FaultHarness.Tally.of(outcomes);
        List<Traffic.Outcome> afterRestart = new ArrayList<>();
        for (Traffic.Outcome o : outcomes) {
            if (o.startNanos() > upAt) {
                afterRestart.add(o);
            }
        }
        FaultHarness.Tally after = FaultHarness.Tally.of(afterRestart);

        FaultHarness.summary(
                "8 proxy kill -9",
                t,
                null,
                down,
                "(readmit = downtime until ready) afterRestart=" + after.total() + " errorsAfterRestart="
                        + (after.getErrors().size() + after.postErrors().size()));
        assertThat(after.total()).as("requests after the restart").isPositive();
        assertThat(after.getErrors()).as("GET errors after the restart").isEmpty();
        assertThat(after.postErrors()).as("POST errors after the restart").isEmpty();
        assertServers("a", "b", "c");
        @SuppressWarnings("unchecked")
        Map<String, Object> config =
                (Map<String, Object>) h.call("GET", "/api/config", null).get("data");
        assertThat(config.get("algorithm")).isEqualTo("least_connections");
        assertThat(h.servers().stream()
                        .filter(s -> "b".equals(s.get("serverId")))
                        .map(s -> ((Number) s.get("weight")).intValue()))
                .containsExactly(3);
        h.assertNothingInFlight();
    }

    @Test
    void proxyDrainsOnSigterm() throws Exception {
        for (FaultBackend b : h.backends) {
            b.mode(FaultBackend.Mode.DELAY);
        }
        Traffic traffic = h.traffic(RATE, 5);
        warmUp(traffic, 2);
        // Every request waits 20 ms at its backend, so that the steady traffic has requests in flight at the signal
        // too, while staying well within the proxy's 3 x 256 per server even through a pause of the cold proxy JVM.
        // Requests known to be in flight when the signal arrives wait 600 ms there (under the 1 s response-headers
        // timeout).
        List<okhttp3.Call> inFlight = new ArrayList<>();
        List<Integer> statuses = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int i = 0; i < 20; i++) {
            okhttp3.Call call = h.client.newCall(
                    new Request.Builder().url(h.base() + "/long/" + i).build());
            inFlight.add(call);
            call.enqueue(new okhttp3.Callback() {
                @Override
                public void onResponse(okhttp3.Call c, Response r) {
                    try (r) {
                        statuses.add(r.code());
                    }
                }

                @Override
                public void onFailure(okhttp3.Call c, java.io.IOException e) {
                    statuses.add(0);
                }
            });
        }
        // Counted by path: the steady traffic reaches the same backends.
        await().atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(10))
                .failFast("a request to /long/ ended before the signal", () -> !statuses.isEmpty())
                .until(() -> h.backends.stream()
                                .mapToLong(b -> b.requestsTo("/long"))
                                .sum()
                        >= 20);
        long t0 = System.nanoTime();
        h.proxy.process.destroy(); // SIGTERM to the process this test started
        assertThat(h.proxy.process.waitFor(12, TimeUnit.SECONDS))
                .as("exited within drain timeout + 2 s")
                .isTrue();
        Duration exit = Duration.ofNanos(System.nanoTime() - t0);
        int status = h.proxy.process.exitValue();
        traffic.stop();
        await().atMost(Duration.ofSeconds(10)).until(() -> statuses.size() == 20);
        List<Traffic.Outcome> outcomes = traffic.await(30);
        FaultHarness.Tally t = FaultHarness.Tally.of(outcomes);
        long answeredBadly = outcomes.stream()
                .filter(o -> o.status() != 0 && o.status() != 200)
                .count();
        long notAccepted = outcomes.stream().filter(o -> o.status() == 0).count();
        long refused = outcomes.stream().filter(Traffic.Outcome::refused).count();

        FaultHarness.summary(
                "9 proxy SIGTERM",
                t,
                null,
                null,
                "exit=" + FaultHarness.seconds(exit) + " status=" + status + " inFlightAtSignal=20 completed="
                        + statuses.stream().filter(s -> s == 200).count() + " non200Answers=" + answeredBadly
                        + " notAcceptedAfterStop=" + notAccepted + " (refused " + refused + ", cut "
                        + (notAccepted - refused) + ") statuses="
                        + outcomes.stream()
                                .collect(Collectors.groupingBy(
                                        Traffic.Outcome::status, java.util.TreeMap::new, Collectors.counting()))
                        + " " + t.sample());
        assertThat(status).isZero();
        assertThat(statuses).as("requests in flight at SIGTERM").containsOnly(200);
        assertThat(answeredBadly).as("answers other than 200 while draining").isZero();
    }
}
