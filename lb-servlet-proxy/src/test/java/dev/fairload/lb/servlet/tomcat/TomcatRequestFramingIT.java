package dev.fairload.lb.servlet.tomcat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.servlet.FramingCorpus;
import dev.fairload.lb.servlet.ProxyRuntime;
import dev.fairload.lb.servlet.RawHttp;
import dev.fairload.lb.servlet.TestBackend;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The request-smuggling corpus of the standalone proxy's {@code RequestFramingTest}, sent raw to the proxy servlet
 * in a real embedded Tomcat 11 under {@code /lb/*}. Tomcat parses the requests, not Jetty, and RFC 9112 lets a
 * recipient repair some of them instead of refusing them (both lengths, obs-fold, a bare LF); Tomcat repairs seven,
 * and the proxy then forwards the one reading Tomcat made. Whatever the case, nothing is forwarded ambiguously: no
 * backend sees the request hidden in a body, a forwarded request never carries both {@code Content-Length} and
 * {@code Transfer-Encoding} nor a header value with CR, LF or NUL, a refusal closes the connection, and a body found
 * malformed mid-stream never arrives whole.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TomcatRequestFramingIT {
    private static final String PREFIX = "/lb";

    /**
     * A case Tomcat accepts after repairing it as RFC 9112 allows, and what the backend then receives: the body length
     * of Tomcat's reading and, when the repair is in a header, that header's value.
     */
    private record Repair(String request, long bodyBytes, String header, String value) {}

    private static final List<Repair> REPAIRED_BY_TOMCAT = List.of(
            // section 6.3: Transfer-Encoding overrides Content-Length, and the connection is closed after the request
            new Repair(
                    "POST /lb/upload HTTP/1.1\\r\\nHost: h\\r\\nContent-Length: 5\\r\\nTransfer-Encoding",
                    0,
                    null,
                    null),
            new Repair(
                    "POST /lb/upload HTTP/1.1\\r\\nHost: h\\r\\nTransfer-Encoding: chunked\\r\\nContent-Length",
                    0,
                    null,
                    null),
            new Repair(
                    "POST /lb/upload HTTP/1.1\\r\\nHost: h\\r\\nContent-Length: 0\\r\\nTransfer-Encoding",
                    5,
                    null,
                    null),
            // section 5.2: obs-fold replaced by a space (the folded line is a value, never a header of its own)
            new Repair("GET /lb/ HTTP/1.1\\r\\nHost: h\\r\\nX-Folded", 0, "X-Folded", "a b"),
            new Repair("POST /lb/upload HTTP/1.1\\r\\nHost: h\\r\\nX-Pad", 0, "X-Pad", "a Transfer-Encoding: chunked"),
            // section 2.2: LF alone read as a line terminator (a bare CR is refused)
            new Repair("GET /lb/ HTTP/1.1\\nHost: h\\nX-Bare: lf\\n\\n", 0, "X-Bare", "lf"),
            new Repair("GET /lb/ HTTP/1.1\\r\\nHost: h\\r\\nX-Bare: lf\\n\\r\\n", 0, "X-Bare", "lf"));

    @TempDir
    static Path base;

    private static TestBackend backend;
    private static ProxyRuntime runtime;
    private static TomcatProxy tomcat;
    private static int port;

    @BeforeAll
    static void start() throws Exception {
        backend = new TestBackend("b");
        runtime = ProxyRuntime.builder(LoadBalancer.builder()
                        .name("framing")
                        .addServer(backend.asServer())
                        .build())
                .closeBalancer(true)
                .build();
        tomcat = TomcatProxy.start(base, PREFIX + "/*", runtime);
        port = tomcat.port();
    }

    @AfterAll
    static void stop() throws Exception {
        if (tomcat != null) {
            tomcat.close();
        }
        if (runtime != null) {
            runtime.close();
        }
        backend.close();
    }

    static List<FramingCorpus.Case> corpus() {
        return FramingCorpus.cases(PREFIX);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void refusedOrRepaired_neverForwardedAmbiguously(FramingCorpus.Case c) throws Exception {
        backend.seen.clear();
        int before = backend.hits.get();
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(c.request().getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            InputStream in = socket.getInputStream();
            String response = RawHttp.readResponse(in);
            check(c, response, () -> RawHttp.closedAfterResponse(in), before);
        }
    }

    /** Closed-after-response is asked only where it must hold: a connection rightly kept open costs a read timeout. */
    private interface Closed {
        boolean get() throws IOException;
    }

    private static void check(FramingCorpus.Case c, String response, Closed closed, int before) throws IOException {
        int status = RawHttp.status(response);
        List<TestBackend.Seen> seen = new ArrayList<>(backend.seen);

        assertThat(seen).as("requests received whole").allSatisfy(s -> {
            assertThat(s.target()).doesNotContain("smuggled");
            assertThat(s.header("Content-Length") == null || s.header("Transfer-Encoding") == null)
                    .as("Content-Length and Transfer-Encoding together: %s", s.headers())
                    .isTrue();
            s.headers().values().stream()
                    .flatMap(List::stream)
                    .forEach(value -> assertThat(value).doesNotContain("\r", "\n", "\u0000"));
        });

        Repair repair = REPAIRED_BY_TOMCAT.stream()
                .filter(r -> c.name().startsWith(r.request()))
                .findFirst()
                .orElse(null);
        if (repair != null) {
            assertThat(status).as(response).isEqualTo(200);
            assertThat(seen).as("requests received whole").hasSize(1);
            assertThat(seen.get(0).bodyBytes()).isEqualTo(repair.bodyBytes());
            if (repair.header() != null) {
                assertThat(seen.get(0).header(repair.header())).isEqualTo(repair.value());
                assertThat(seen.get(0).header("Transfer-Encoding")).isNull();
            } else {
                assertThat(closed.get())
                        .as("connection closed after a request with both lengths")
                        .isTrue();
            }
            return;
        }
        assertThat(status).as(response).isBetween(400, 505);
        assertThat(closed.get()).as("connection closed after " + response).isTrue();
        if (c.malformedBody()) {
            // Bodies stream: the backend may have received the headers, but the request never arrives whole.
            assertThat(seen).as("requests received whole").isEmpty();
        } else {
            assertThat(backend.hits.get()).as("requests forwarded").isEqualTo(before);
        }
    }
}
