package dev.fairload.lb.servlet;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Backend responses whose framing or syntax is broken or ambiguous: the proxy answers 502 or re-frames the body it
 * understood, and never passes on anything that would let the backend write a header or a response of its own
 * choosing to the client (response splitting). Also a well-formed answer that arrives early, before the upload it
 * answers is finished.
 */
class MalformedUpstreamResponseTest {
    /**
     * A chunked response's headers go out before its body is read (streams are not buffered), so a body found broken
     * afterwards ends the client's response without its last chunk; one found broken first gets 502.
     */
    private static final int TRUNCATED_OR_502 = -2;

    static Stream<Arguments> responses() {
        return Stream.of(
                Arguments.of("garbage status line", "HTPT/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 502, null),
                Arguments.of("no status code", "HTTP/1.1 OK\r\nContent-Length: 2\r\n\r\nok", 502, null),
                Arguments.of(
                        "two different lengths",
                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 7\r\n\r\nok",
                        502,
                        null),
                Arguments.of("signed length", "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok", 502, null),
                Arguments.of(
                        "length and chunked: the chunks frame the body",
                        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
                        200,
                        "ok"),
                Arguments.of(
                        "bad chunk size",
                        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n",
                        TRUNCATED_OR_502,
                        null),
                Arguments.of(
                        "bare CR in a header value",
                        "HTTP/1.1 200 OK\r\nX-Evil: a\rSet-Cookie: injected=1\r\nContent-Length: 2\r\n\r\nok",
                        -1,
                        null),
                Arguments.of(
                        "NUL in a header value",
                        "HTTP/1.1 200 OK\r\nX-Evil: a\u0000b\r\nContent-Length: 2\r\n\r\nok",
                        -1,
                        null),
                Arguments.of(
                        "header line without a colon",
                        "HTTP/1.1 200 OK\r\nNoColon\r\nContent-Length: 2\r\n\r\nok",
                        -1,
                        null));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("responses")
    void malformedResponse_502OrReframed_neverSplit(String name, String raw, int expected, String body)
            throws Exception {
        try (RawBackend backend = new RawBackend(raw);
                JettyProxy proxy =
                        JettyProxy.inFrontOf(ProxyConfig.builder().maxRetries(0).build(), backend.port())) {
            String answer = RawHttp.exchange(proxy.port(), "GET /r HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
            int status = RawHttp.status(answer);
            if (expected > 0) {
                assertThat(status).as(answer).isEqualTo(expected);
            } else if (expected == TRUNCATED_OR_502) {
                assertThat(status == 502 || (status == 200 && !answer.endsWith("0\r\n\r\n")))
                        .as("502, or a 200 without its last chunk: " + answer)
                        .isTrue();
            } else {
                assertThat(status).as(answer).isIn(200, 502);
            }
            if (body != null) {
                String sent = answer.substring(answer.indexOf("\r\n\r\n") + 4);
                String framed = answer.contains("\r\nTransfer-Encoding: chunked\r\n")
                        ? Integer.toHexString(body.length()) + "\r\n" + body + "\r\n0\r\n\r\n"
                        : body;
                assertThat(sent).as("the body as the client received it").isEqualTo(framed);
            }
            String head = answer.substring(0, Math.max(0, answer.indexOf("\r\n\r\n")));
            assertThat(head.split("\r\n"))
                    .as("header lines")
                    .noneMatch(line -> line.toLowerCase(java.util.Locale.ROOT).startsWith("set-cookie"));
            assertThat(head.chars().filter(c -> c == '\r').count())
                    .as("every CR in the head ends a line")
                    .isEqualTo(head.split("\r\n", -1).length - 1);
            assertThat(head).doesNotContain("\u0000");
            assertThat(backend.requests.get())
                    .as("requests the backend saw (no retry)")
                    .isEqualTo(1);
        }
    }

    /**
     * A backend that refuses a large upload at once (413, closing without reading the body): the client gets that
     * answer, not a 502 for the broken upload, and the backend is not blamed.
     */
    @Test
    void earlyAnswerDuringUpload_passedOn() throws Exception {
        String refusal = "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big\n";
        okhttp3.OkHttpClient client = new okhttp3.OkHttpClient.Builder()
                .retryOnConnectionFailure(false)
                .readTimeout(10, java.util.concurrent.TimeUnit.SECONDS)
                .build();
        try (RawBackend backend = new RawBackend(refusal);
                JettyProxy proxy = JettyProxy.inFrontOf(ProxyConfig.defaults(), backend.port());
                okhttp3.Response r = client.newCall(new okhttp3.Request.Builder()
                                .url(proxy.url("/upload"))
                                .post(okhttp3.RequestBody.create(new byte[8 * 1024 * 1024]))
                                .build())
                        .execute()) {
            assertThat(r.code()).isEqualTo(413);
            assertThat(r.body().string()).isEqualTo("too big\n");
            assertThat(proxy.runtime().loadBalancer().pool().list().get(0).failures())
                    .isZero();
        } finally {
            client.dispatcher().executorService().shutdown();
            client.connectionPool().evictAll();
        }
    }

    /** Answers each request with {@code raw}, then closes the connection. */
    private static final class RawBackend implements AutoCloseable {
        final AtomicInteger requests = new AtomicInteger();
        private final ServerSocket listener;
        private final Thread acceptor;

        RawBackend(String raw) throws IOException {
            listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            acceptor = new Thread(
                    () -> {
                        while (!listener.isClosed()) {
                            try (Socket s = listener.accept()) {
                                InputStream in = s.getInputStream();
                                for (int state = 0, b; state < 4 && (b = in.read()) != -1; ) {
                                    state = (b == (state % 2 == 0 ? '\r' : '\n')) ? state + 1 : 0;
                                }
                                requests.incrementAndGet();
                                s.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
                                s.getOutputStream().flush();
                            } catch (IOException e) {
                                // closed listener, or the proxy hung up first
                            }
                        }
                    },
                    "raw-backend");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        int port() {
            return listener.getLocalPort();
        }

        @Override
        public void close() throws Exception {
            listener.close();
            acceptor.join(5_000);
        }
    }
}
