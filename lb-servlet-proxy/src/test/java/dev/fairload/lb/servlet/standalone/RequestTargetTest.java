package dev.fairload.lb.servlet.standalone;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairload.lb.servlet.RawHttp;
import dev.fairload.lb.servlet.TestBackend;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Request targets that backends could read differently from the proxy (path confusion, access rules bypassed):
 * dot segments are resolved before forwarding (RFC 3986 section 5.2.4), and encoded dots or slashes, a target
 * climbing above the root, an empty first segment and NUL are refused with 400 without reaching a backend; what is
 * forwarded is byte for byte the target the proxy resolved.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RequestTargetTest {
    @TempDir
    static Path dir;

    private static TestBackend backend;
    private static StandaloneProxy proxy;

    @BeforeAll
    static void start() throws Exception {
        backend = new TestBackend("b");
        proxy = InProcessProxy.start(dir, "proxy", backend.port());
    }

    @AfterAll
    static void stop() throws Exception {
        if (proxy != null) {
            proxy.stop();
        }
        backend.close();
    }

    @ParameterizedTest(name = "{0} -> {1} {2}")
    @CsvSource({
        "/a/../b, 200, /b",
        "/a/./b, 200, /a/b",
        "/a/.., 200, /",
        "/a;p/b, 200, /a;p/b",
        "/a%20b, 200, /a%20b",
        "/caf%C3%A9, 200, /caf%C3%A9",
        "/a?x=%2F&y=.., 200, /a?x=%2F&y=..",
        "/a/%2e%2e/b, 400, -",
        "/%2e%2e/etc, 400, -",
        "/a%2Fb, 400, -",
        "/a/b/..%2F..%2Fetc, 400, -",
        "//x, 400, -",
        "/.., 400, -",
        "/%00, 400, -"
    })
    void target_resolvedOrRefused(String target, int status, String forwarded) throws Exception {
        backend.seen.clear();
        String response =
                RawHttp.exchange(proxy.port(), "GET " + target + " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
        assertThat(RawHttp.status(response)).as(response).isEqualTo(status);
        if (status == 200) {
            assertThat(backend.take().target()).isEqualTo(forwarded);
        } else {
            assertThat(backend.seen).isEmpty();
        }
    }
}
