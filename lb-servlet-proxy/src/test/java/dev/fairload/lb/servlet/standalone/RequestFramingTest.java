package dev.fairload.lb.servlet.standalone;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairload.lb.servlet.RawHttp;
import dev.fairload.lb.servlet.TestBackend;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
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

    private static final String SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n";

    static Stream<Arguments> corpus() {
        return Stream.of(
                // Content-Length and Transfer-Encoding together, in both orders
                post("Content-Length: 5\r\nTransfer-Encoding: chunked", "0\r\n\r\n" + SMUGGLED),
                post("Transfer-Encoding: chunked\r\nContent-Length: 5", "0\r\n\r\n" + SMUGGLED),
                post("Content-Length: 0\r\nTransfer-Encoding: chunked", "5\r\nhello\r\n0\r\n\r\n"),
                // Content-Length values that are not one plain decimal number
                post("Content-Length: 5\r\nContent-Length: 6", "hello!"),
                post("Content-Length: 5\r\nContent-Length: 5", "hello"),
                post("Content-Length: 5, 6", "hello!"),
                post("Content-Length: 5, 5", "hello"),
                post("Content-Length: +5", "hello"),
                post("Content-Length: -5", "hello"),
                post("Content-Length: 0x5", "hello"),
                post("Content-Length: 5 5", "hello"),
                post("Content-Length: 1_0", "helloworld"),
                post("Content-Length: 99999999999999999999999", "hello"),
                post("Content-Length: 9223372036854775808", "hello"),
                post("Content-Length:", "hello"),
                post("Content-Length : 5", "hello"),
                post("Content-Length: 5\u0000", "hello"),
                // Transfer-Encoding that is not exactly chunked
                post("Transfer-Encoding: xchunked", "5\r\nhello\r\n0\r\n\r\n"),
                post("Transfer-Encoding: chunked, identity", "5\r\nhello\r\n0\r\n\r\n"),
                post("Transfer-Encoding: identity", "hello"),
                post("Transfer-Encoding: gzip", "hello"),
                post("Transfer-Encoding: chunked, chunked", "5\r\nhello\r\n0\r\n\r\n"),
                post("Transfer-Encoding: chunked\r\nTransfer-Encoding: x", "5\r\nhello\r\n0\r\n\r\n"),
                post("Transfer-Encoding : chunked", "5\r\nhello\r\n0\r\n\r\n"),
                post("X-Pad: a\r\n Transfer-Encoding: chunked", "5\r\nhello\r\n0\r\n\r\n"),
                raw("POST /upload HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
                // header syntax
                raw("GET / HTTP/1.1\r\nHost: h\r\nX-Folded: a\r\n b\r\n\r\n"),
                raw("GET / HTTP/1.1\nHost: h\nX-Bare: lf\n\n"),
                raw("GET / HTTP/1.1\r\nHost: h\r\nX-Bare: lf\n\r\n"),
                raw("GET / HTTP/1.1\r\nHost: h\r\nX-Bare: a\rb\r\n\r\n"),
                raw("GET / HTTP/1.1\r\nHost: h\r\nX-Nul: a\u0000b\r\n\r\n"),
                raw("GET / HTTP/1.1\r\nHost: h\r\n: empty-name\r\n\r\n"),
                raw("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n"),
                raw("GET / HTTP/1.1\r\nHost: h\r\nX Space: v\r\n\r\n"),
                raw("GET / HTTP/1.1\r\nHost: h\r\nX(Paren): v\r\n\r\n"),
                raw("GET / HTTP/1.1\r\n Host: h\r\n\r\n"),
                // request line and Host
                raw("GET / HTTP/1.1\r\n\r\n"),
                raw("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
                raw("GET / HTTP/1.1\r\nHost: h:port\r\n\r\n"),
                raw("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n"),
                raw("GET / HTTP/1.1 extra\r\nHost: h\r\n\r\n"),
                raw("GET / HTTP/9.9\r\nHost: h\r\n\r\n"),
                raw("G\u0000T / HTTP/1.1\r\nHost: h\r\n\r\n"),
                // chunk syntax: found only once forwarding began, so last (a backend may still be
                // entering its handler for one of them when the next case runs)
                chunked("0x5\r\nhello\r\n0\r\n\r\n"),
                chunked("+5\r\nhello\r\n0\r\n\r\n"),
                chunked("-5\r\nhello\r\n0\r\n\r\n"),
                chunked("fffffffffffffffff1\r\nhello\r\n0\r\n\r\n"),
                chunked("g\r\nhello\r\n0\r\n\r\n"),
                chunked("5\r\nhelloXX\r\n0\r\n\r\n"),
                chunked("5\r\nhello0\r\n\r\n"),
                chunked("5\nhello\r\n0\r\n\r\n"),
                chunked("5\r\nhello\n0\r\n\r\n"));
    }

    private static Arguments post(String framing, String body) {
        return raw("POST /upload HTTP/1.1\r\nHost: h\r\n" + framing + "\r\n\r\n" + body);
    }

    /** A chunked body malformed after valid headers: found only once forwarding began. */
    private static Arguments chunked(String body) {
        return raw("POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + body, true);
    }

    private static Arguments raw(String request) {
        return raw(request, false);
    }

    private static Arguments raw(String request, boolean malformedBody) {
        String name = request.replace("\r", "\\r")
                .replace("\n", "\\n")
                .replace("\u0000", "\\0")
                .replace("\t", "\\t");
        return Arguments.of(name, request, malformedBody);
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
            assertThat(closedAfterResponse(in))
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

    /** True when the proxy closes the connection (end of stream or reset) instead of reading another request. */
    private static boolean closedAfterResponse(InputStream in) throws IOException {
        try {
            byte[] rest = in.readAllBytes(); // returns at end of stream; times out while the connection stays open
            return !new String(rest, StandardCharsets.ISO_8859_1).contains("HTTP/1.1 200");
        } catch (SocketException e) {
            return true; // reset
        } catch (SocketTimeoutException e) {
            return false;
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
