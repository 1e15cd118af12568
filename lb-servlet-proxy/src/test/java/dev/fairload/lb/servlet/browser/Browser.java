package dev.fairload.lb.servlet.browser;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * A headless Chromium driven through Debian's {@code chromedriver}: both executables come from the system (PATH, or
 * the system properties {@code fairload.chromium} and {@code fairload.chromedriver}), never downloaded (Selenium
 * Manager does not run when the driver executable is given). Flags keep the browser off the network. Closing it
 * quits the browser and stops the driver process.
 */
final class Browser implements AutoCloseable {
    private static final String INSTALL =
            "install them with: apt-get install -y chromium chromium-driver (or set -Dfairload.chromium=PATH and"
                    + " -Dfairload.chromedriver=PATH)";

    final WebDriver driver;
    private final ChromeDriverService service;

    private Browser(WebDriver driver, ChromeDriverService service) {
        this.driver = driver;
        this.service = service;
    }

    /**
     * Starts the browser with a window of this size and colour scheme.
     *
     * @throws IllegalStateException if chromium or chromedriver is missing, saying how to install them
     */
    static Browser start(int width, int height, boolean dark) {
        String chromium = executable("fairload.chromium", "chromium", "chromium-browser");
        String chromedriver = executable("fairload.chromedriver", "chromedriver");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(chromium);
        options.addArguments(
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-default-apps",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                "--window-size=" + width + "," + height,
                dark ? "--blink-settings=preferredColorScheme=0" : "--blink-settings=preferredColorScheme=1");
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(chromedriver))
                .usingAnyFreePort()
                .build();
        try {
            return new Browser(new ChromeDriver(service, options), service);
        } catch (RuntimeException e) {
            service.stop();
            throw e;
        }
    }

    private static String executable(String property, String... names) {
        String configured = System.getProperty(property);
        if (configured != null && !configured.isBlank()) {
            if (!Files.isExecutable(Path.of(configured))) {
                throw new IllegalStateException(property + ": " + configured + " is not executable; " + INSTALL);
            }
            return configured;
        }
        String path = System.getenv("PATH");
        for (String dir : (path == null ? "/usr/bin" : path).split(File.pathSeparator)) {
            for (String name : names) {
                Path candidate = Path.of(dir, name);
                if (Files.isExecutable(candidate)) {
                    return candidate.toString();
                }
            }
        }
        throw new IllegalStateException(
                "the status page tests need " + String.join(" or ", names) + " on the PATH; " + INSTALL);
    }

    void open(String url) {
        driver.get(url);
    }

    WebElement byId(String id) {
        return driver.findElement(By.id(id));
    }

    List<WebElement> all(String css) {
        return driver.findElements(By.cssSelector(css));
    }

    /** Waits up to {@code timeout} for {@code condition} to be non-null and not false; returns its value. */
    <T> T until(Duration timeout, Function<WebDriver, T> condition) {
        return new WebDriverWait(driver, timeout, Duration.ofMillis(100))
                .ignoring(org.openqa.selenium.StaleElementReferenceException.class)
                .until(condition);
    }

    void screenshot(Path file) throws Exception {
        byte[] png = ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES);
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.write(file, png);
    }

    @Override
    public void close() {
        try {
            driver.quit();
        } finally {
            service.stop();
        }
    }
}
