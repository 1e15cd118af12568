package dev.fairload.lb.servlet;

import dev.fairload.lb.servlet.internal.ConcurrencyLimit;
import dev.fairload.lb.servlet.internal.ErrorResponses;
import dev.fairload.lb.servlet.internal.Forwarding;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Instant;
import java.util.Enumeration;
import java.util.Objects;

/**
 * A reverse proxy as a servlet (Servlet 6.0, {@code jakarta}): every request it receives is forwarded
 * to a server picked by the {@link ProxyRuntime}'s balancer, through the runtime's balanced OkHttp client (so retries,
 * in-flight counts and passive health are the same as for any balanced client), and the answer is streamed back.
 *
 * <p>Register it under any mapping (async support may be on; the servlet does not need it); a prefix mapping such as {@code /lb/*} is removed from the
 * forwarded path ({@code /lb/a?b} goes upstream as {@code /a?b}). {@link ProxyRegistration} does this for a {@code
 * ServletContext}.
 *
 * <p>What it does to a request:
 *
 * <ul>
 *   <li>Bodies stream both ways with a few 16 KiB buffers per request, whatever their size; a request body is sent
 *       once and never replayed. {@code Expect: 100-continue} is passed on, so the client sends its body only once
 *       the server asked for it. Responses of unknown length (chunked, server-sent events) are flushed as they
 *       arrive; trailers announced by the server are passed on when the client's connection can carry them.
 *   <li>Hop-by-hop headers are dropped both ways: {@code Connection} and the headers it names, {@code Keep-Alive},
 *       {@code Proxy-Connection}, {@code TE} (except {@code trailers}), {@code Trailer}, {@code Transfer-Encoding},
 *       {@code Upgrade}, {@code Proxy-Authorization}, {@code Proxy-Authenticate}.
 *   <li>The client's {@code Host} is kept unless {@link ProxyConfig#preserveHost()} is off. {@code X-Forwarded-For}
 *       gets the peer address appended, {@code X-Forwarded-Proto}, {@code -Host}, {@code -Port} and {@code Via} are
 *       set. The client's own {@code X-Forwarded-*}, {@code Forwarded} and {@code X-Real-IP} are believed only from
 *       {@linkplain ProxyConfig#trustedProxies() trusted proxy ranges} and are otherwise replaced or removed.
 *   <li>If no {@code Accept-Encoding} was sent, {@code Accept-Encoding: identity} is, so that the upstream client
 *       neither asks for nor decodes compression.
 *   <li>Sticky sessions ({@link ProxyConfig#sessionPersistence()}): a response setting the application's session
 *       cookie binds that session to the server that answered, and requests carrying it go there while it is
 *       healthy; with {@link ProxyConfig#stickyCookie()} the proxy also sets a cookie naming an opaque token of the
 *       server. A request whose server is gone fails over to another one (counted as a failover in the balancer's
 *       metrics).
 * </ul>
 *
 * <p>Limits ({@link ProxyConfig}): a request target longer than {@code maxUriLength} is answered 414 and one with more
 * than {@code maxRequestHeaders} header fields 431, both without contacting a server. At most {@code
 * maxConcurrentRequests} requests are handled at once; the next one is answered 503 with {@code Retry-After} at once
 * (no queue), and so is a request finding every healthy server at {@code maxRequestsPerServer}. Upstream attempts get
 * {@code responseHeadersTimeoutMillis} for the response headers and the whole request {@code requestTimeoutMillis}.
 *
 * <p>Answers of its own, with a JSON body {@code {"error": "..."}}: 503 when no server is available, 502 when every
 * attempt failed, 504 when the server was too slow (the configured read timeout), 400 for a request it cannot
 * forward unambiguously, 405 for {@code CONNECT}, and 501 for WebSocket upgrades, which are not proxied. Malformed
 * HTTP (conflicting lengths, obs-fold and the like) is rejected by the container before it reaches the servlet.
 * If the server fails after the response has started, the client's connection is aborted so the truncation shows.
 * A client that goes away cancels the upstream call, which releases the server.
 *
 * <p>Threads and costs: each request is handled on the container thread that called {@code service}, which runs the
 * balanced call and streams both bodies with blocking I/O, so a request never changes threads. The container's thread pool therefore
 * bounds the requests in flight; give it at least {@code maxConcurrentRequests} threads (the standalone proxy
 * does). The configuration is read once per request.
 *
 * <p>Thread-safe, as servlets must be. Not subclassable: configure it through {@link ProxyConfig}.
 */
public final class ProxyServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    private final transient ProxyRuntime runtime;

    /** A servlet forwarding through {@code runtime}. */
    public ProxyServlet(ProxyRuntime runtime) {
        this.runtime = Objects.requireNonNull(runtime, "runtime");
    }

    /** The runtime this servlet forwards through. */
    public ProxyRuntime runtime() {
        return runtime;
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response)
            throws ServletException, IOException {
        // One read of the runtime's state: the configuration and the forwarding settings built from it always match.
        Forwarding.Settings settings = runtime.forwardingSettings();
        ProxyConfig config = settings.config();
        long start = System.nanoTime();
        int refusal = refusal(request, config);
        if (refusal != 0) {
            response.setHeader("Connection", "close");
            ErrorResponses.send(
                    response, refusal, refusal == 414 ? ErrorResponses.URI_TOO_LONG : ErrorResponses.TOO_MANY_HEADERS);
            finished(request.getMethod(), Forwarding.forwardPath(request), null, refusal, start);
            return;
        }
        ConcurrencyLimit.Permit permit = runtime.tryAdmit();
        if (permit == null) {
            // Over the proxy-wide limit: refuse at once instead of queueing, and say when to come back.
            response.setHeader("Retry-After", Integer.toString(config.retryAfterSeconds()));
            ErrorResponses.send(response, 503, ErrorResponses.OVERLOADED);
            finished(request.getMethod(), Forwarding.forwardPath(request), null, 503, start);
            return;
        }
        try {
            Forwarding.forward(request, response, settings, this::finished);
        } finally {
            permit.release();
        }
    }

    /** 414 for a request target over {@code maxUriLength}, 431 for more than {@code maxRequestHeaders} fields, else 0. */
    private static int refusal(HttpServletRequest request, ProxyConfig config) {
        String uri = request.getRequestURI();
        String query = request.getQueryString();
        long length = (uri == null ? 0 : uri.length()) + (query == null ? 0 : query.length() + 1);
        if (length > config.maxUriLength()) {
            return 414;
        }
        int count = 0;
        int max = config.maxRequestHeaders();
        for (Enumeration<String> names = request.getHeaderNames(); names.hasMoreElements(); ) {
            for (Enumeration<String> values = request.getHeaders(names.nextElement()); values.hasMoreElements(); ) {
                values.nextElement();
                if (++count > max) {
                    return 431;
                }
            }
        }
        return 0;
    }

    private void finished(String method, String path, String serverId, int status, long startNanos) {
        if (runtime.hasExchangeListeners()) {
            long duration = System.nanoTime() - startNanos;
            Instant started = Instant.now().minusNanos(duration);
            runtime.exchangeFinished(new ProxyRuntime.Exchange(method, path, serverId, status, duration, started));
        }
    }
}
