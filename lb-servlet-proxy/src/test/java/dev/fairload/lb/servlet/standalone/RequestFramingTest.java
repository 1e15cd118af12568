package dev.fairload.lb.servlet.standalone;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairload.lb.servlet.FramingCorpus;
import dev.fairload.lb.servlet.RawHttp;
import dev.fairload.lb.servlet.TestBackend;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Requests whose framing or syntax different HTTP parsers could read differently (request smuggling, RFC 9112
 * sections 2.2, 3, 5, 6 and 7.1), sent raw to the standalone proxy: each is refused with a 4xx or 5xx status, the
 * connection is closed after it (nothing after the refusal is read as a next request), and no backend sees any of
 * them; a chunked body found malformed after forwarding began never reaches a backend whole.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RequestFramingTest {
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

    static Stream<Arguments> corpus() {
        return FramingCorpus.cases("").stream().map(c -> Arguments.of(c.name(), c.request(), c.malformedBody()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void ambiguousOrMalformed_refused_connectionClosed_neverForwarded(
            String name, String request, boolean malformedBody) throws Exception {
        int before = backend.hits.get();
        int wholeBefore = backend.seen.size();
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            InputStream in = socket.getInputStream();
            String response = RawHttp.readResponse(in);
            assertThat(RawHttp.status(response)).as(response).isBetween(400, 505);
            assertThat(response)
                    .as("a JSON error, never an HTML page")
                    .containsIgnoringCase("\r\nContent-Type: application/json")
                    .contains("\r\n\r\n{\"error\":\"");
            assertThat(RawHttp.closedAfterResponse(in))
                    .as("connection closed after " + response)
                    .isTrue();
        }
        if (malformedBody) {
            // Bodies stream: the backend may have received the headers, but the request never arrives whole.
            assertThat(backend.seen).as("requests received whole").hasSize(wholeBefore);
        } else {
            assertThat(backend.hits.get()).as("requests forwarded").isEqualTo(before);
        }
    }

    /**
     * Request targets that backends could read differently from the proxy (path confusion, access rules bypassed):
     * dot segments are resolved before forwarding (RFC 3986 section 5.2.4); encoded dots or slashes, a target
     * climbing above the root, an empty first segment and NUL are refused with 400 without reaching a backend; what
     * is forwarded is byte for byte the target the proxy resolved.
     */
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
