package dev.fairload.lb.servlet.browser;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.servlet.ProxyConfig;
import dev.fairload.lb.servlet.ProxyRegistration;
import dev.fairload.lb.servlet.ProxyRuntime;
import dev.fairload.lb.servlet.TestBackend;
import dev.fairload.lb.servlet.admin.AdminServlet;
import dev.fairload.lb.servlet.tls.CertificateInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import okhttp3.MediaType;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.tls.HeldCertificate;
import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;

/**
 * The status page of an {@link AdminServlet} registered with {@link AdminServlet#register} in the context {@code
 * /ops} of a real embedded Tomcat 11 (page at {@code /ops/api/ui/}), next to the proxy in the root context, in front
 * of three real backends. Runs in the browser failsafe execution, whose class path has Tomcat's servlet API only.
 */
class TomcatStatusPageIT extends StatusPageScenario {
    private final List<TestBackend> backends = new ArrayList<>();
    private ProxyRuntime runtime;
    private Tomcat tomcat;
    private int port;

    @TempDir
    Path base;

    @BeforeEach
    void start() throws Exception {
        LoadBalancer.Builder b = LoadBalancer.builder().name("tomcat-status");
        for (String name : List.of("demo-1", "demo-2", "demo-3")) {
            TestBackend backend = new TestBackend(name);
            backends.add(backend);
            b.addServer(backend.asServer());
        }
        LoadBalancer lb = b.build();
        runtime = ProxyRuntime.builder(lb)
                .config(ProxyConfig.builder()
                        .healthCheckInterval(CHECK_INTERVAL)
                        .healthCheckTimeout(1)
                        .build())
                .closeBalancer(true)
                .build();
        // A TLS certificate in use, as a container terminating TLS would report it: 10 days left.
        HeldCertificate certificate = new HeldCertificate.Builder()
                .addSubjectAlternativeName("shop.example")
                .duration(10, TimeUnit.DAYS)
                .build();
        CertificateInfo tls = CertificateInfo.of("shop", certificate.certificate(), true, Instant.now());
        AdminServlet admin = AdminServlet.builder(runtime)
                .bearerToken(TOKEN)
                .tlsCertificates(() -> List.of(tls))
                .build();

        tomcat = new Tomcat();
        tomcat.setBaseDir(Files.createDirectories(base.resolve("tomcat")).toString());
        Connector connector = new Connector();
        connector.setPort(0);
        connector.setProperty("address", "127.0.0.1");
        tomcat.setConnector(connector);
        Context proxy = tomcat.addContext("", null);
        proxy.addServletContainerInitializer(ProxyRegistration.initializer("/*", runtime), null);
        Context ops = tomcat.addContext("/ops", null);
        ops.addServletContainerInitializer((classes, context) -> AdminServlet.register(context, admin), null);
        tomcat.start();
        port = connector.getLocalPort();
        // The first checks decide the statuses (the page shows them as they are; the scenario expects healthy).
        for (TestBackend backend : backends) {
            lb.pool().firstCheck(backend.asServer().id()).get(10, TimeUnit.SECONDS);
        }
    }

    @AfterEach
    void stop() throws Exception {
        if (tomcat != null) {
            tomcat.stop();
            tomcat.destroy();
        }
        if (runtime != null) {
            runtime.close();
        }
        for (TestBackend backend : backends) {
            backend.close();
        }
    }

    @Override
    String pageUrl() {
        return "http://127.0.0.1:" + port + "/ops/api/ui/";
    }

    @Override
    String apiBase() {
        return "http://127.0.0.1:" + port + "/ops/api/";
    }

    @Override
    String proxyUrl(String path) {
        return "http://127.0.0.1:" + port + path;
    }

    /**
     * A thousand servers: the table shows them all, filters and sorts them, and the page keeps refreshing every
     * second. Health checks are turned off first (through the API), so the servers, on ports nothing listens on, are
     * never contacted.
     */
    @Test
    void aThousandServers_filterSortAndKeepRefreshing() throws Exception {
        Request off = new Request.Builder()
                .url(apiBase() + "config")
                .header("Authorization", "Bearer " + TOKEN)
                .put(RequestBody.create("{\"healthCheckEnabled\":false}", MediaType.get("application/json")))
                .build();
        try (Response r = client.newCall(off).execute()) {
            assertThat(r.code()).isEqualTo(200);
        }
        LoadBalancer lb = runtime.loadBalancer();
        for (int i = 0; i < 997; i++) {
            lb.pool()
                    .add(Server.builder("127.0.0.1", 20000 + i)
                            .id(String.format("bulk-%04d", i))
                            .build());
        }
        signIn();
        awaitRows(1000);
        assertThat(browser().byId("server-count").getText()).isEqualTo("(1000)");
        int ticks = ticks();
        browser().until(Duration.ofSeconds(20), d -> ticks() >= ticks + 3);
        String renderMs = browser().driver.findElement(By.tagName("html")).getAttribute("data-render-ms");
        System.out.printf("status page: one refresh of 1,000 servers rendered in %s ms%n", renderMs);

        WebElement filter = browser().byId("filter");
        filter.sendKeys("bulk-0500");
        browser().until(Duration.ofSeconds(5), d -> visibleRows().size() == 1);
        assertThat(visibleRows().get(0).getAttribute("data-server-id")).isEqualTo("bulk-0500");
        filter.clear();
        filter.sendKeys("demo");
        browser().until(Duration.ofSeconds(5), d -> visibleRows().size() == 3);

        filter.clear();
        browser().until(Duration.ofSeconds(5), d -> visibleRows().size() == 1000);
        browser()
                .driver
                .findElement(By.cssSelector("th button[data-sort='id']"))
                .click();
        browser()
                .until(
                        Duration.ofSeconds(5),
                        d -> "bulk-0000"
                                .equals(visibleRows()
                                        .get(visibleRows().size() - 1)
                                        .getAttribute("data-server-id")));
        assertThat(visibleRows().get(0).getAttribute("data-server-id")).isEqualTo("demo-3");
        assertThat(browser().driver.findElement(By.cssSelector("th[aria-sort]")).getAttribute("aria-sort"))
                .isEqualTo("descending");
        int after = ticks();
        browser().until(Duration.ofSeconds(20), d -> ticks() >= after + 2);
        Map<String, Object> metrics = apiMap("metrics");
        assertThat(metrics.get("totalServers")).isEqualTo(1000);
    }

    @Test
    void tlsCertificateExpiryShown_warnedWithinTheWarningWindow() {
        signIn();
        WebElement card = browser().until(WAIT, d -> {
            WebElement e = d.findElement(By.id("tls"));
            return e.isDisplayed() ? e : null;
        });
        assertThat(card.getText()).contains("shop.example (default)");
        WebElement expiry = card.findElement(By.cssSelector("#tls-list li div:nth-child(2)"));
        assertThat(expiry.getText()).matches("Expires \\d{4}-\\d{2}-\\d{2}, in (9|10) days");
        assertThat(expiry.getAttribute("class")).isEqualTo("expiry-soon");
    }

    private List<WebElement> visibleRows() {
        return browser().all("#server-rows tr");
    }

    private int ticks() {
        String t = browser().driver.findElement(By.tagName("html")).getAttribute("data-ticks");
        return t == null ? 0 : Integer.parseInt(t);
    }
}
