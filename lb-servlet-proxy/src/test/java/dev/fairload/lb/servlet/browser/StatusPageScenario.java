package dev.fairload.lb.servlet.browser;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.fairload.lb.servlet.TestBackend;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.Select;

/**
 * The status page in a real headless Chromium, the same scenario wherever the admin servlet runs: a subclass starts
 * a proxy with three healthy servers {@code demo-1} to {@code demo-3}, a health check every {@value #CHECK_INTERVAL}
 * s (timeout 1 s, out after 3 failures) and the admin token {@value #TOKEN}, and says where the page, the API and
 * the proxy are. Every step goes through the page as an operator would; the API is read only to check what the page
 * shows.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
abstract class StatusPageScenario {
    static final String TOKEN = "browser-it-5f3c9a";
    static final int CHECK_INTERVAL = 2;
    /** Three failed checks, one timeout, and slack for a loaded machine. */
    static final Duration UNHEALTHY_WITHIN = Duration.ofSeconds(3L * CHECK_INTERVAL + 1 + 6);

    static final Duration WAIT = Duration.ofSeconds(15);

    protected Browser browser;
    protected final List<TestBackend> extraBackends = new ArrayList<>();
    protected final OkHttpClient client = new OkHttpClient.Builder()
            .retryOnConnectionFailure(false)
            .readTimeout(30, TimeUnit.SECONDS)
            .build();

    /** The page's URL. */
    abstract String pageUrl();

    /** The admin API's base, ending in {@code /api/}. */
    abstract String apiBase();

    /** The proxy's URL for a path. */
    abstract String proxyUrl(String path);

    Browser browser() {
        if (browser == null) {
            browser = Browser.start(1440, 1000, false);
        }
        return browser;
    }

    @AfterEach
    void closeBrowserAndBackends() throws Exception {
        try {
            if (browser != null) {
                browser.close();
            }
        } finally {
            for (TestBackend b : extraBackends) {
                b.close();
            }
            client.dispatcher().executorService().shutdown();
            client.connectionPool().evictAll();
        }
    }

    // Helpers ----------------------------------------------------------------------------------------------------

    /** GET on the admin API with the token; the {@code data} of the answer. */
    Object api(String path) throws IOException {
        Request request = new Request.Builder()
                .url(apiBase() + path)
                .header("Authorization", "Bearer " + TOKEN)
                .build();
        try (Response r = client.newCall(request).execute()) {
            assertThat(r.code()).as("GET %s", path).isEqualTo(200);
            Map<String, Object> body = JSON.std.mapFrom(r.body().string());
            return body.get("data");
        }
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> apiMap(String path) throws IOException {
        return (Map<String, Object>) api(path);
    }

    /** Sends {@code n} requests through the proxy; the answering backends' names, counted. */
    Map<String, Integer> traffic(int n) throws IOException {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < n; i++) {
            try (Response r = client.newCall(
                            new Request.Builder().url(proxyUrl("/t" + i)).build())
                    .execute()) {
                assertThat(r.code()).isEqualTo(200);
                counts.merge(r.body().string().strip(), 1, Integer::sum);
            }
        }
        return counts;
    }

    /** Opens the page and signs in with the token. */
    void signIn() {
        Browser b = browser();
        b.open(pageUrl());
        WebElement token = b.until(WAIT, d -> {
            WebElement e = d.findElement(By.id("token"));
            return e.isDisplayed() ? e : null;
        });
        token.sendKeys(TOKEN);
        b.byId("login-submit").click();
        b.until(WAIT, d -> d.findElement(By.id("dashboard")).isDisplayed());
        awaitRows(3);
    }

    void awaitRows(int atLeast) {
        browser()
                .until(
                        WAIT,
                        d -> d.findElements(By.cssSelector("#server-rows tr")).size() >= atLeast);
    }

    WebElement row(String serverId) {
        return browser().driver.findElement(By.cssSelector("#server-rows tr[data-server-id='" + serverId + "']"));
    }

    String cell(String serverId, String column) {
        return row(serverId)
                .findElement(By.cssSelector("td[data-col='" + column + "']"))
                .getText()
                .strip();
    }

    String status(String serverId) {
        return row(serverId).findElement(By.cssSelector(".status")).getAttribute("data-status");
    }

    void awaitStatus(String serverId, String status, Duration within) {
        browser().until(within, d -> status.equals(status(serverId)));
    }

    String awaitNotice(String containing) {
        return browser().until(WAIT, d -> {
            WebElement n = d.findElement(By.id("notice"));
            String text = n.getText();
            return n.isDisplayed() && text.contains(containing) ? text : null;
        });
    }

    Object script(String js, Object... args) {
        return ((JavascriptExecutor) browser().driver).executeScript(js, args);
    }

    void select(String serverId) {
        row(serverId).findElement(By.cssSelector("td[data-col='id'] button")).click();
        browser().until(WAIT, d -> d.findElement(By.id("detail")).isDisplayed());
    }

    // The scenario -----------------------------------------------------------------------------------------------

    @Test
    void wrongTokenIsRefused_rightTokenShowsThreeHealthyServers_tokenOnlyInSessionStorage() throws Exception {
        Browser b = browser();
        b.open(pageUrl());
        WebElement token = b.until(WAIT, d -> {
            WebElement e = d.findElement(By.id("token"));
            return e.isDisplayed() ? e : null;
        });
        token.sendKeys("not-the-token");
        b.byId("login-submit").click();
        String refusal = b.until(WAIT, d -> {
            String t = d.findElement(By.id("login-error")).getText();
            return t.isEmpty() ? null : t;
        });
        assertThat(refusal).isEqualTo("Refused: Authorization: invalid token");
        assertThat(b.byId("dashboard").isDisplayed()).isFalse();
        assertThat(script("return sessionStorage.getItem('fairload.adminToken')"))
                .isNull();

        b.byId("token").clear();
        b.byId("token").sendKeys(TOKEN);
        b.byId("login-submit").click();
        b.until(WAIT, d -> d.findElement(By.id("dashboard")).isDisplayed());
        awaitRows(3);
        for (String id : List.of("demo-1", "demo-2", "demo-3")) {
            awaitStatus(id, "healthy", WAIT);
        }
        assertThat(b.byId("overall").getText()).isEqualTo("Healthy");
        assertThat(script("return sessionStorage.getItem('fairload.adminToken')"))
                .isEqualTo(TOKEN);
        assertThat(b.driver.getCurrentUrl()).doesNotContain(TOKEN);
        assertThat(b.driver.getPageSource()).doesNotContain(TOKEN);
        assertThat((String) script("return document.cookie")).isEmpty();
        assertThat((Long) script("return localStorage.length")).isZero();
    }

    @Test
    void pageNumbersEqualApiMetrics() throws Exception {
        signIn();
        traffic(60);
        // The 10-second rate goes back to zero once traffic stops: from then on, the API's numbers stay still and the
        // page must show exactly them.
        Map<String, Object> api = await().atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(500))
                .until(() -> apiMap("metrics"), m -> ((Number) m.get("requestsPerSecond")).doubleValue() == 0.0);
        Map<String, Object> expected = api;
        String rendered = browser().until(WAIT, d -> {
            String json = d.findElement(By.id("rendered")).getAttribute("textContent");
            try {
                Map<String, Object> shown = JSON.std.mapFrom(json);
                return ((Number) shown.get("requestsPerSecond")).doubleValue() == 0.0
                                && shown.get("totalRequests").equals(expected.get("totalRequests"))
                        ? json
                        : null;
            } catch (IOException e) {
                return null;
            }
        });
        Map<String, Object> shown = JSON.std.mapFrom(rendered);
        Map<String, Object> now = apiMap("metrics");
        for (Map<String, Object> m : List.of(shown, now)) {
            m.remove("uptime");
            m.remove("uptimeSeconds");
        }
        // JSON numbers compared as numbers (the page's JSON writes 0.0 as 0).
        assertThat(numbers(shown)).isEqualTo(numbers(now));
        assertThat(((Number) now.get("totalRequests")).longValue()).isGreaterThanOrEqualTo(60);

        // What the tiles show is that sample, formatted.
        @SuppressWarnings("unchecked")
        Map<String, Object> percentiles = (Map<String, Object>) now.get("responseTimePercentiles");
        assertThat(tile("totalRequests")).isEqualTo(String.format(Locale.US, "%,d", (Number) now.get("totalRequests")));
        assertThat(tile("failedRequests"))
                .isEqualTo(String.format(Locale.US, "%,d", (Number) now.get("failedRequests")));
        assertThat(tile("requestsPerSecond")).isEqualTo("0.0");
        assertThat(tile("errorRate")).isEqualTo(fixed(((Number) now.get("errorRate")).doubleValue() * 100, 2) + " %");
        assertThat(tile("p50")).isEqualTo(ms(((Number) percentiles.get("p50")).doubleValue()));
        assertThat(tile("p99")).isEqualTo(ms(((Number) percentiles.get("p99")).doubleValue()));
        assertThat(tile("servers")).isEqualTo(now.get("activeServers") + " / " + now.get("totalServers"));
        assertThat(tile("activeConnections")).isEqualTo(String.valueOf(now.get("activeConnections")));

        // The history behind the charts counts the same requests.
        Map<String, Object> history = apiMap("metrics/history");
        long requests = 0;
        for (Object o : (List<?>) history.get("samples")) {
            requests += ((Number) ((Map<?, ?>) o).get("requests")).longValue();
        }
        assertThat(requests).isEqualTo(((Number) now.get("totalRequests")).longValue());
        assertThat(browser().all("#chart-rate .uplot")).hasSize(1);
    }

    private static Object numbers(Object json) {
        if (json instanceof Number n) {
            return new java.math.BigDecimal(n.toString()).stripTrailingZeros();
        }
        if (json instanceof Map<?, ?> m) {
            Map<Object, Object> out = new java.util.TreeMap<>();
            m.forEach((k, v) -> out.put(k, numbers(v)));
            return out;
        }
        if (json instanceof List<?> l) {
            return l.stream().map(StatusPageScenario::numbers).toList();
        }
        return json;
    }

    private String tile(String metric) {
        return browser()
                .driver
                .findElement(By.cssSelector("[data-metric='" + metric + "']"))
                .getText();
    }

    private static String ms(double v) {
        return fixed(v, v < 10 ? 2 : v < 100 ? 1 : 0) + " ms";
    }

    /** JavaScript's {@code Number.toFixed}: the double's exact value, rounded half up. */
    private static String fixed(double v, int decimals) {
        return new java.math.BigDecimal(v)
                .setScale(decimals, java.math.RoundingMode.HALF_UP)
                .toPlainString();
    }

    @Test
    void addedBackendThatDiesTurnsUnhealthyWithoutReload_thenIsRemoved() throws Exception {
        signIn();
        TestBackend extra = new TestBackend("extra");
        extraBackends.add(extra);
        script("window.fairloadNoReload = true");
        Browser b = browser();

        b.byId("add-host").sendKeys("127.0.0.1");
        b.byId("add-port").sendKeys(String.valueOf(extra.port()));
        b.byId("add-weight").sendKeys("2");
        b.byId("add-submit").click();
        String added = awaitNotice("Added ");
        assertThat(added).contains("(127.0.0.1:" + extra.port() + "), healthy.");
        String id = added.substring("Added ".length(), added.indexOf(' ', "Added ".length()));
        awaitRows(4);
        awaitStatus(id, "healthy", WAIT);
        assertThat(cell(id, "weight")).startsWith("2");

        extra.close();
        long killed = System.nanoTime();
        awaitStatus(id, "unhealthy", UNHEALTHY_WITHIN);
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - killed);
        assertThat(script("return window.fairloadNoReload === true"))
                .as("the page was not reloaded")
                .isEqualTo(true);
        assertThat(cell(id, "status")).contains("unhealthy");
        b.until(WAIT, d -> d.findElement(By.id("events")).getText().contains(id + ": healthy → unhealthy"));
        assertThat(b.byId("overall").getText()).startsWith("Degraded");
        System.out.printf("status page: %s shown unhealthy %d s after its backend stopped%n", id, seconds);

        select(id);
        b.byId("remove-button").click();
        b.byId("remove-confirm").click();
        awaitNotice("Removed " + id);
        b.until(
                WAIT,
                d -> d.findElements(By.cssSelector("#server-rows tr[data-server-id='" + id + "']"))
                        .isEmpty());
        assertThat((List<?>) api("servers")).hasSize(3);
    }

    @Test
    void drainMovesRequestsToTheOthers_undrainBringsThemBack() throws Exception {
        signIn();
        assertThat(traffic(30)).containsOnlyKeys("demo-1", "demo-2", "demo-3");

        row("demo-1").findElement(By.cssSelector("button.row-drain")).click();
        assertThat(awaitNotice("demo-1 is draining")).contains("Status: draining.");
        awaitStatus("demo-1", "draining", WAIT);
        assertThat(row("demo-1").findElement(By.cssSelector("button.row-drain")).getText())
                .isEqualTo("Undrain");

        long before = ((Number) apiMap("servers/demo-1").get("totalRequests")).longValue();
        Map<String, Integer> during = traffic(30);
        assertThat(during).doesNotContainKey("demo-1").containsOnlyKeys("demo-2", "demo-3");
        // The page shows the requests moving: demo-1's count stands still while the others' grow.
        String total1 = String.format(Locale.US, "%,d", before);
        long others = ((Number) apiMap("servers/demo-2").get("totalRequests")).longValue();
        browser().until(WAIT, d -> cell("demo-2", "total").equals(String.format(Locale.US, "%,d", others)));
        assertThat(cell("demo-1", "total")).isEqualTo(total1);

        row("demo-1").findElement(By.cssSelector("button.row-drain")).click();
        awaitNotice("demo-1 takes requests again");
        awaitStatus("demo-1", "healthy", WAIT);
        assertThat(traffic(30)).containsKey("demo-1");
    }

    @Test
    void weightAndAlgorithmChange_refusedActionShowsTheApiMessage() throws Exception {
        signIn();
        Browser b = browser();
        select("demo-2");
        WebElement weight = b.byId("weight-input");
        weight.clear();
        weight.sendKeys("7");
        b.byId("weight-submit").click();
        awaitNotice("Weight of demo-2 set to 7.");
        b.until(WAIT, d -> cell("demo-2", "weight").startsWith("7"));
        assertThat(apiMap("servers/demo-2").get("weight")).isEqualTo(7);

        Map<String, Object> algorithms = apiMap("algorithms");
        String current = (String) algorithms.get("current");
        String other = ((List<?>) algorithms.get("algorithms"))
                .stream()
                        .map(a -> (String) ((Map<?, ?>) a).get("name"))
                        .filter(n -> !n.equals(current))
                        .findFirst()
                        .orElseThrow();
        new Select(b.byId("algorithm")).selectByValue(other);
        b.byId("algorithm-submit").click();
        awaitNotice("Algorithm switched to " + other + ".");
        assertThat(apiMap("config").get("algorithm")).isEqualTo(other);

        // A change the API refuses: its own message is shown, and nothing changes.
        b.byId("add-host").sendKeys("169.254.169.254");
        b.byId("add-port").sendKeys("80");
        b.byId("add-submit").click();
        String refused = b.until(WAIT, d -> {
            WebElement n = d.findElement(By.id("notice"));
            return n.getAttribute("class").contains("error") ? n.getText() : null;
        });
        assertThat(refused)
                .isEqualTo("Refused: host: '169.254.169.254' is a link-local address (expected: a backend's address,"
                        + " not 169.254.0.0/16 or fe80::/10)");
        assertThat(b.byId("notice").getAttribute("role")).isEqualTo("alert");
        assertThat((List<?>) api("servers")).hasSize(3);
    }
}
