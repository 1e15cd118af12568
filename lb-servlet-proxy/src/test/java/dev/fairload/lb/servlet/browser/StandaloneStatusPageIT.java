package dev.fairload.lb.servlet.browser;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;

/**
 * The status page of {@code java -jar target/lb-proxy.jar --demo} (a child process, admin token from {@code
 * LB_ADMIN_TOKEN}) at {@code /} of its admin listener, in headless Chromium. Also takes the screenshots of the
 * documentation ({@code target/status-page*.png}: light, dark, narrow) with demo traffic. Only the process started
 * here is stopped, by its own handle.
 */
class StandaloneStatusPageIT extends StatusPageScenario {
    private static final Pattern READY =
            Pattern.compile("listening on http://[^:]+:(\\d+)/ \\(admin https?://[^:]+:(\\d+)/\\)");

    @TempDir
    Path dir;

    private Process process;
    private Path log;
    private int port;
    private int adminPort;

    @BeforeEach
    void startProxy() throws Exception {
        Path config = dir.resolve("proxy.yaml");
        Files.writeString(
                config,
                String.join(
                        "\n",
                        "host: 127.0.0.1",
                        "port: 0",
                        "adminPort: 0",
                        "healthCheckInterval: " + CHECK_INTERVAL,
                        "healthCheckTimeout: 1",
                        ""));
        Path jar = Path.of("target", "lb-proxy.jar");
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("run `mvn package` first: " + jar.toAbsolutePath() + " is missing");
        }
        log = dir.resolve("proxy.log");
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m",
                "-jar",
                jar.toString(),
                "--config",
                config.toString(),
                "--demo"));
        ProcessBuilder builder =
                new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().put("LB_ADMIN_TOKEN", TOKEN);
        process = builder.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (port == 0) {
            for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
                Matcher m = READY.matcher(line);
                if (m.find()) {
                    port = Integer.parseInt(m.group(1));
                    adminPort = Integer.parseInt(m.group(2));
                }
            }
            if (port == 0) {
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("the proxy did not start: " + Files.readString(log));
                }
                process.waitFor(50, TimeUnit.MILLISECONDS);
            }
        }
    }

    @AfterEach
    void stopProxy() throws Exception {
        if (process != null) {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    @Override
    String pageUrl() {
        return "http://127.0.0.1:" + adminPort + "/";
    }

    @Override
    String apiBase() {
        return "http://127.0.0.1:" + adminPort + "/api/";
    }

    @Override
    String proxyUrl(String path) {
        return "http://127.0.0.1:" + port + path;
    }

    @Test
    void pageAndItsFilesHaveTheirContentTypesCachingAndPolicy() throws IOException {
        Map<String, String> files = Map.of(
                "/", "text/html; charset=utf-8",
                "/api/ui/", "text/html; charset=utf-8",
                "/api/ui/status.js", "text/javascript; charset=utf-8",
                "/api/ui/status.css", "text/css; charset=utf-8",
                "/api/ui/uPlot.iife.min.js", "text/javascript; charset=utf-8");
        for (Map.Entry<String, String> f : files.entrySet()) {
            String url = "http://127.0.0.1:" + adminPort + f.getKey();
            String etag;
            try (Response r =
                    client.newCall(new Request.Builder().url(url).build()).execute()) {
                assertThat(r.code()).as(f.getKey()).isEqualTo(200);
                assertThat(r.header("Content-Type")).as(f.getKey()).isEqualToIgnoringWhitespace(f.getValue());
                assertThat(r.header("Cache-Control")).isEqualTo("no-cache");
                assertThat(r.header("Content-Security-Policy"))
                        .contains("default-src 'none'", "script-src 'self'", "connect-src 'self'")
                        .doesNotContain("unsafe-inline", "http:", "https:");
                assertThat(r.header("X-Content-Type-Options")).isEqualTo("nosniff");
                assertThat(r.body().string()).doesNotContain(TOKEN);
                etag = r.header("ETag");
            }
            try (Response r = client.newCall(new Request.Builder()
                            .url(url)
                            .header("If-None-Match", etag)
                            .build())
                    .execute()) {
                assertThat(r.code()).as("revalidating %s", f.getKey()).isEqualTo(304);
            }
        }
        // The page's files need no token; the data does.
        try (Response r = client.newCall(
                        new Request.Builder().url(apiBase() + "metrics/history").build())
                .execute()) {
            assertThat(r.code()).isEqualTo(401);
        }
    }

    /**
     * Screenshots with demo traffic for the documentation: wide light, wide dark, and a phone-sized one, each checked
     * for what makes it usable (rows shown, chart drawn, dark background in dark mode, nothing wider than the screen).
     */
    @Test
    void screenshotsWithDemoTraffic() throws Exception {
        AtomicBoolean running = new AtomicBoolean(true);
        Thread load = new Thread(
                () -> {
                    int i = 0;
                    while (running.get()) {
                        try (Response r = client.newCall(new Request.Builder()
                                        .url(proxyUrl("/shop/item/" + (i++ % 50)))
                                        .build())
                                .execute()) {
                            r.body().string();
                        } catch (IOException e) {
                            return;
                        }
                        // A varying rate, so the chart shows a shape.
                        long pause = (i / 200) % 2 == 0 ? 5 : 15;
                        try {
                            synchronized (running) {
                                running.wait(pause);
                            }
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                },
                "demo-traffic");
        load.setDaemon(true);
        load.start();
        try {
            signIn();
            // Twenty seconds of history on the charts, waited for through the page's own refresh counter.
            browser().until(Duration.ofSeconds(60), d -> {
                String ticks = d.findElement(By.tagName("html")).getAttribute("data-ticks");
                return ticks != null && Integer.parseInt(ticks) >= 20;
            });
            // An operator's action, so the events list has something to show.
            row("demo-3").findElement(By.cssSelector("button.row-drain")).click();
            awaitNotice("demo-3 is draining");
            browser().until(WAIT, d -> d.findElement(By.id("events")).getText().contains("demo-3: healthy → draining"));
            select("demo-2");
            Path target = Path.of("target");
            browser().screenshot(target.resolve("status-page.png"));
            assertThat(browser().all("#chart-rate .uplot")).hasSize(1);
            assertThat(browser().all("#server-rows tr")).hasSize(3);
            row("demo-3").findElement(By.cssSelector("button.row-drain")).click();
            awaitNotice("demo-3 takes requests again");

            browser.close();
            browser = Browser.start(1440, 1000, true);
            signIn();
            browser.until(
                    WAIT,
                    d -> Integer.parseInt(d.findElement(By.tagName("html")).getAttribute("data-ticks")) >= 3);
            String background = (String) script("return getComputedStyle(document.body).backgroundColor");
            assertThat(background).as("dark scheme").isEqualTo("rgb(18, 22, 28)");
            browser.screenshot(target.resolve("status-page-dark.png"));

            browser.close();
            browser = Browser.start(390, 844, false);
            signIn();
            browser.until(
                    WAIT,
                    d -> Integer.parseInt(d.findElement(By.tagName("html")).getAttribute("data-ticks")) >= 3);
            assertThat((Long) script("return document.documentElement.scrollWidth"))
                    .as("nothing wider than a narrow screen")
                    .isLessThanOrEqualTo((Long) script("return document.documentElement.clientWidth"));
            browser.screenshot(target.resolve("status-page-narrow.png"));
        } finally {
            running.set(false);
            synchronized (running) {
                running.notifyAll();
            }
            load.join(TimeUnit.SECONDS.toMillis(30));
        }
    }
}
