package dev.fairload.lb.servlet.internal;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.PickContext;
import dev.fairload.lb.Server;
import dev.fairload.lb.servlet.ProxyConfig;
import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.ProtocolException;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import okhttp3.Call;
import okhttp3.Headers;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;
import okio.BufferedSource;

/**
 * One proxied request, from the servlet's {@code service} call to its return.
 *
 * <p>Threads: everything happens on the container thread that called {@code service}. It builds the upstream
 * request, runs the balanced call synchronously, streams the request body from the client (blocking servlet reads)
 * and the response body to it (blocking servlet writes), so the memory per request is a few buffers whatever the
 * body sizes, and no request changes threads. Back-pressure is the sockets': a slow client slows the upstream reads
 * and the other way round.
 *
 * <p>Completion: exactly once, guarded by {@link #completed}. The lease held by the balancing interceptor is
 * completed by closing the response (or by the interceptor when the call fails); a client that goes away (a failed
 * read or write) cancels the upstream call.
 *
 * <p>Failures after the response is committed cannot change the status; {@link #forward} then throws, which makes the
 * container abort the connection instead of ending the body cleanly (a truncated body must look truncated).
 */
public final class Forwarding {
    private static final String VIA = "fairload";
    /** RFC 9110 section 9.2.2. */
    private static final Set<String> IDEMPOTENT = Set.of("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE");

    /**
     * The empty body of a non-idempotent request. One-shot, so that OkHttp never sends the request again on its own
     * after a failure on a pooled connection: the server may have acted on it, and RFC 9110 (section 9.2.2) forbids
     * a proxy to retry it. Requests with a body are one-shot already ({@link StreamingRequestBody}).
     */
    private static final RequestBody EMPTY_ONE_SHOT = new RequestBody() {
        @Override
        public okhttp3.MediaType contentType() {
            return null;
        }

        @Override
        public long contentLength() {
            return 0;
        }

        @Override
        public boolean isOneShot() {
            return true;
        }

        @Override
        public void writeTo(okio.BufferedSink sink) {
            // nothing to send
        }
    };

    private static final Set<String> REQUIRES_BODY = Set.of("POST", "PUT", "PATCH", "PROPPATCH", "REPORT");
    private static final Set<String> NO_BODY_ON_H2_WITHOUT_LENGTH = Set.of("GET", "HEAD", "DELETE", "OPTIONS", "TRACE");

    /**
     * What a request needs from the proxy's configuration, built once per configuration (not per request) by the
     * runtime, together with the upstream client of that configuration.
     */
    public record Settings(
            ProxyConfig config,
            LoadBalancer lb,
            OkHttpClient client,
            HttpUrl upstreamBase,
            List<Cidr> trustedProxies) {}

    /** Told once when the exchange ends. */
    public interface Finish {
        void finished(String method, String path, String serverId, int status, long startNanos);
    }

    private final HttpServletRequest request;
    private final HttpServletResponse response;
    private final Settings settings;
    private final Finish finish;
    private final long startNanos;
    private final String method;
    private final String path;
    private final AtomicBoolean completed = new AtomicBoolean();
    private volatile Call call;
    private volatile boolean clientGone;
    /** Reading the client's request body failed: it broke off, or was malformed (containers report both alike). */
    private volatile boolean bodyFailed;

    private String requestStickyToken;
    private String requestSessionKey;
    private volatile Headers trailers;

    private Forwarding(
            HttpServletRequest request,
            HttpServletResponse response,
            Settings settings,
            Finish finish,
            long startNanos,
            String path) {
        this.request = request;
        this.response = response;
        this.settings = settings;
        this.finish = finish;
        this.startNanos = startNanos;
        this.method = request.getMethod();
        this.path = path;
    }

    /**
     * Validates the request and forwards it, or answers it at once (400, 405, 501). Returns when the exchange is over;
     * throws only when the response had started and the upstream failed, so that the container aborts the client's
     * connection.
     */
    public static void forward(
            HttpServletRequest request, HttpServletResponse response, Settings settings, Finish finish)
            throws IOException {
        long start = System.nanoTime();
        String method = request.getMethod();
        String path = forwardPath(request);
        if ("CONNECT".equals(method)) {
            response.setHeader("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
            ErrorResponses.send(response, 405, "Method not allowed");
            finish.finished(method, path, null, 405, start);
            return;
        }
        if (request.getHeader("Upgrade") != null
                && HopByHop.containsToken(request.getHeaders("Upgrade"), "websocket")) {
            ErrorResponses.send(response, 501, "WebSocket upgrade is not supported");
            finish.finished(method, path, null, 501, start);
            return;
        }
        if (ambiguousFraming(request)) {
            // Request smuggling defence for containers that tolerate these: never forward a body two parsers could
            // frame differently, and do not reuse the connection.
            response.setHeader("Connection", "close");
            ErrorResponses.send(response, 400, ErrorResponses.BAD_REQUEST);
            finish.finished(method, path, null, 400, start);
            return;
        }
        Forwarding exchange = new Forwarding(request, response, settings, finish, start, path);
        Request upstream;
        try {
            upstream = exchange.upstreamRequest();
        } catch (IllegalArgumentException e) {
            // An unforwardable target or header (OkHttp's own validation): never forward it half-understood.
            ErrorResponses.send(response, 400, ErrorResponses.BAD_REQUEST);
            finish.finished(method, path, null, 400, start);
            return;
        }
        if (upstream == null) {
            ErrorResponses.send(response, 400, ErrorResponses.BAD_REQUEST);
            finish.finished(method, path, null, 400, start);
            return;
        }
        for (int resends = 0; ; resends++) {
            Call call = settings.client().newCall(upstream);
            exchange.call = call;
            Response answer;
            try {
                answer = call.execute();
            } catch (IOException e) {
                exchange.failed(e, resends > 0);
                return;
            }
            Server failed = exchange.respond(answer, resends < settings.config().maxRetries());
            if (failed == null) {
                return;
            }
            // The server failed mid-body before anything reached the client: send the request to another one.
            PickContext context = upstream.tag(PickContext.class);
            upstream = upstream.newBuilder()
                    .tag(PickContext.class, context.withExcluded(failed))
                    .build();
        }
    }

    // Request --------------------------------------------------------------------------------------------------

    /** Both Content-Length and Transfer-Encoding, several Content-Length values, or HTTP/1.0 with Transfer-Encoding. */
    private static boolean ambiguousFraming(HttpServletRequest request) {
        Enumeration<String> lengths = request.getHeaders("Content-Length");
        int count = 0;
        while (lengths != null && lengths.hasMoreElements()) {
            String value = lengths.nextElement();
            count += value.indexOf(',') >= 0 ? 2 : 1;
        }
        boolean transferEncoding = request.getHeader("Transfer-Encoding") != null;
        // RFC 9112 section 6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing.
        return count > 1
                || (count == 1 && transferEncoding)
                || (transferEncoding && "HTTP/1.0".equals(request.getProtocol()));
    }

    private Request upstreamRequest() throws IOException {
        // From a prebuilt base: the logical host is canonicalized once, not on every request.
        HttpUrl.Builder target = settings.upstreamBase().newBuilder().encodedPath(path);
        String query = request.getQueryString();
        if (query != null) {
            target.encodedQuery(query);
        }
        HttpUrl url = target.build();
        String peer = request.getRemoteAddr();
        boolean trusted = Cidr.anyContains(settings.trustedProxies(), peer);
        Headers.Builder headers = new Headers.Builder();
        Set<String> nominated = HopByHop.nominated(request.getHeaders("Connection"));
        for (Enumeration<String> names = request.getHeaderNames(); names.hasMoreElements(); ) {
            String name = names.nextElement();
            String lower = name.toLowerCase(Locale.ROOT);
            if (HopByHop.isHopByHop(lower) || nominated.contains(lower) || isRewritten(lower, trusted)) {
                continue;
            }
            for (Enumeration<String> values = request.getHeaders(name); values.hasMoreElements(); ) {
                headers.addUnsafeNonAscii(name, values.nextElement());
            }
        }
        if (HopByHop.containsToken(request.getHeaders("TE"), "trailers")) {
            headers.add("TE", "trailers"); // the client accepts trailers, and so does the proxy
        }
        boolean noAcceptEncoding = request.getHeader("Accept-Encoding") == null;
        if (noAcceptEncoding) {
            // Without it OkHttp would ask for gzip and decode it; taken out before sending (UpstreamClients.Omitted).
            headers.add("Accept-Encoding", "identity");
        }
        String host = clientHost();
        if (settings.config().preserveHost() && host != null) {
            headers.add("Host", host);
        }

        String clientAddress = forwardedHeaders(headers, peer, trusted, host);
        headers.add("Via", viaProtocol(request.getProtocol()) + " " + VIA);

        PickContext.Builder context = PickContext.builder().clientAddress(clientAddress);
        if (settings.config().sessionPersistence()) {
            readStickyCookies();
            context.sessionKey(requestSessionKey).stickyToken(requestStickyToken);
        }

        RequestBody body = requestBody();
        if (body == null && ("GET".equals(method) || "HEAD".equals(method)) && hasBody()) {
            return null; // OkHttp cannot send a GET or HEAD body; refuse rather than drop it silently
        }
        Request.Builder upstream = new Request.Builder()
                .url(url)
                .headers(headers.build())
                .method(method, body)
                .tag(PickContext.class, context.build());
        UpstreamClients.Omitted omitted =
                UpstreamClients.Omitted.of(request.getHeader("User-Agent") == null, noAcceptEncoding);
        if (omitted != null) {
            upstream.tag(UpstreamClients.Omitted.class, omitted);
        }
        return upstream.build();
    }

    private boolean isRewritten(String lower, boolean trusted) {
        switch (lower) {
            case "host",
                    "content-length",
                    "via",
                    "x-forwarded-for",
                    "x-forwarded-proto",
                    "x-forwarded-host",
                    "x-forwarded-port" -> {
                return true;
            }
            case "forwarded", "x-real-ip" -> {
                return !trusted; // claims about the client from an unknown peer are dropped
            }
            default -> {
                return false;
            }
        }
    }

    /**
     * Sets X-Forwarded-For/-Proto/-Host/-Port and the inbound Via list; returns the client address. From a trusted
     * proxy, its X-Forwarded-* values are kept (X-Forwarded-For appended to) and the client is the rightmost
     * untrusted hop; from anyone else they are replaced and the client is the peer.
     */
    private String forwardedHeaders(Headers.Builder headers, String peer, boolean trusted, String host) {
        for (Enumeration<String> via = request.getHeaders("Via"); via != null && via.hasMoreElements(); ) {
            headers.addUnsafeNonAscii("Via", via.nextElement());
        }
        String clientAddress = peer;
        String inboundFor = trusted ? joined("X-Forwarded-For") : null;
        if (inboundFor != null) {
            headers.add("X-Forwarded-For", inboundFor + ", " + peer);
            clientAddress = rightmostUntrusted(inboundFor, peer);
        } else {
            headers.add("X-Forwarded-For", peer);
        }
        String proto = trusted ? request.getHeader("X-Forwarded-Proto") : null;
        headers.add("X-Forwarded-Proto", proto != null ? proto : request.getScheme());
        String forwardedHost = trusted ? request.getHeader("X-Forwarded-Host") : null;
        if (forwardedHost != null) {
            headers.addUnsafeNonAscii("X-Forwarded-Host", forwardedHost);
        } else if (host != null) {
            headers.addUnsafeNonAscii("X-Forwarded-Host", host);
        }
        String port = trusted ? request.getHeader("X-Forwarded-Port") : null;
        headers.add("X-Forwarded-Port", port != null ? port : Integer.toString(request.getServerPort()));
        return clientAddress;
    }

    private String rightmostUntrusted(String forwardedFor, String peer) {
        String[] hops = forwardedFor.split(",");
        for (int i = hops.length - 1; i >= 0; i--) {
            String hop = hops[i].strip();
            if (!hop.isEmpty() && !Cidr.anyContains(settings.trustedProxies(), hop)) {
                return Cidr.literal(hop) != null ? hop : peer;
            }
        }
        String first = hops.length > 0 ? hops[0].strip() : "";
        return Cidr.literal(first) != null ? first : peer;
    }

    private String joined(String name) {
        Enumeration<String> values = request.getHeaders(name);
        if (values == null || !values.hasMoreElements()) {
            return null;
        }
        return String.join(", ", Collections.list(values));
    }

    private String clientHost() {
        String host = request.getHeader("Host");
        if (host != null) {
            return host;
        }
        String name = request.getServerName();
        if (name == null || name.isEmpty()) {
            return null;
        }
        if (name.indexOf(':') >= 0 && !name.startsWith("[")) {
            name = "[" + name + "]";
        }
        int port = request.getServerPort();
        boolean defaultPort = port <= 0
                || (port == 80 && "http".equals(request.getScheme()))
                || (port == 443 && "https".equals(request.getScheme()));
        return defaultPort ? name : name + ":" + port;
    }

    private boolean hasBody() {
        if (request.getContentLengthLong() > 0 || request.getHeader("Transfer-Encoding") != null) {
            return true;
        }
        // HTTP/2 requests need not declare a length; a body may follow the headers.
        return request.getContentLengthLong() < 0
                && request.getProtocol().startsWith("HTTP/2")
                && !NO_BODY_ON_H2_WITHOUT_LENGTH.contains(method);
    }

    private RequestBody requestBody() throws IOException {
        if ("GET".equals(method) || "HEAD".equals(method)) {
            return null;
        }
        if (hasBody()) {
            long length = request.getContentLengthLong();
            return new StreamingRequestBody(request.getInputStream(), length, this::clientBodyFailed);
        }
        if (REQUIRES_BODY.contains(method) || request.getContentLengthLong() == 0) {
            return IDEMPOTENT.contains(method) ? RequestBody.create(new byte[0], null) : EMPTY_ONE_SHOT;
        }
        return null;
    }

    private void readStickyCookies() {
        Cookie[] cookies = request.getCookies();
        if (cookies == null) {
            return;
        }
        for (Cookie cookie : cookies) {
            String value = cookie.getValue();
            if (value == null || value.isEmpty() || value.length() > 512) {
                continue;
            }
            if (cookie.getName().equals(settings.config().sessionCookieName())) {
                requestSessionKey = value;
            } else if (settings.config().stickyCookie()
                    && cookie.getName().equals(settings.config().stickyCookieName())
                    && isToken(value)) {
                requestStickyToken = value; // anything else is treated as absent: a new assignment
            }
        }
    }

    private static boolean isToken(String value) {
        if (value.length() != 16) {
            return false;
        }
        for (int i = 0; i < 16; i++) {
            char c = value.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                return false;
            }
        }
        return true;
    }

    // Response -------------------------------------------------------------------------------------------------

    /**
     * Streams {@code upstream} to the client; throws if it fails after the response was committed. Returns the
     * server to avoid when the upstream failed before anything was committed and {@code mayResend} the request (no
     * body, idempotent method), after undoing what the response had set; null when the exchange is over.
     */
    private Server respond(Response upstream, boolean mayResend) throws IOException {
        Server server = upstream.request().tag(Server.class);
        String serverId = server != null ? server.id() : null;
        int code = upstream.code();
        try (upstream) {
            if (clientGone || bodyFailed) {
                call.cancel();
                badBodyOrGone(serverId);
                return null;
            }
            boolean hasBody = !"HEAD".equals(method) && code != 204 && code != 304 && code >= 200;
            String length = bodyLength(upstream);
            copyResponseHeaders(upstream, server, hasBody, length);
            if (!hasBody) {
                finishOnce(code, serverId);
                return null;
            }
            stream(upstream.body(), length == null);
            trailers = trailersOf(upstream);
            finishOnce(code, serverId);
        } catch (ClientWriteException e) {
            clientGone = true;
            call.cancel();
            finishOnce(0, serverId);
        } catch (IOException | RuntimeException e) {
            if (mayResend && server != null && resendable(upstream.request()) && !response.isCommitted()) {
                response.reset(); // the failed server's status and headers, not yet sent
                trailers = null;
                return server;
            }
            // Upstream failed mid-body (or before a byte was written): close the client's view of it too.
            abort(e, serverId);
        }
        return null;
    }

    /** Safe to send again: an idempotent method (RFC 9110 section 9.2.2) and no body, so nothing was consumed. */
    private boolean resendable(Request sent) {
        return sent.body() == null && IDEMPOTENT.contains(method);
    }

    /**
     * The upstream body's length as sent, or null when it is chunked or unknown. Transfer-Encoding overrides
     * Content-Length (RFC 9112 section 6.3); a length that is not one plain decimal number is a malformed response.
     */
    private static String bodyLength(Response upstream) throws ProtocolException {
        String length = upstream.header("Content-Length");
        if (length == null || upstream.header("Transfer-Encoding") != null) {
            return null;
        }
        length = length.strip();
        boolean digits = !length.isEmpty() && length.length() <= 18;
        for (int i = 0; digits && i < length.length(); i++) {
            char c = length.charAt(i);
            digits = c >= '0' && c <= '9';
        }
        if (!digits) {
            throw new ProtocolException("upstream Content-Length: '" + length + "'");
        }
        return length;
    }

    /** RFC 9110 section 5.5: CR, LF and NUL in a field value are replaced with spaces, whatever the container does. */
    private static String fieldValue(String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '\r' || c == '\n' || c == 0) {
                return value.replace('\r', ' ').replace('\n', ' ').replace('\0', ' ');
            }
        }
        return value;
    }

    private void copyResponseHeaders(Response upstream, Server server, boolean hasBody, String length) {
        response.setStatus(upstream.code());
        Headers headers = upstream.headers();
        Set<String> nominated = HopByHop.nominated(headers.values("Connection"));
        Set<String> copied = new HashSet<>();
        for (int i = 0, size = headers.size(); i < size; i++) {
            String name = headers.name(i);
            String lower = name.toLowerCase(Locale.ROOT);
            if (HopByHop.isHopByHop(lower) || nominated.contains(lower) || lower.equals("content-length")) {
                continue;
            }
            String value = fieldValue(headers.value(i));
            if (lower.equals("set-cookie") && settings.config().sessionPersistence()) {
                bindSession(value, server);
            }
            if (copied.add(lower)) {
                // The first value replaces what the container may have put there already (Date, Server).
                response.setHeader(name, value);
            } else {
                response.addHeader(name, value);
            }
        }
        response.addHeader("Via", "1.1 " + VIA);
        if (length != null && (hasBody || "HEAD".equals(method))) {
            response.setContentLengthLong(Long.parseLong(length)); // digits only, at most 18 of them
        }
        if (settings.config().sessionPersistence() && settings.config().stickyCookie() && server != null) {
            String token = server.stickyToken();
            if (!token.equals(requestStickyToken)) {
                response.addHeader("Set-Cookie", stickyCookie(token));
            }
        }
        if (hasBody && length == null) {
            try {
                response.setTrailerFields(this::trailerFields);
            } catch (IllegalStateException e) {
                // HTTP/1.0 or otherwise not chunked: trailers cannot be sent, the body still is
            }
        }
    }

    private String stickyCookie(String token) {
        String cookiePath = request.getContextPath();
        if (request.getHttpServletMapping() != null
                && request.getHttpServletMapping().getMappingMatch() == jakarta.servlet.http.MappingMatch.PATH) {
            cookiePath += request.getServletPath();
        }
        if (cookiePath.isEmpty()) {
            cookiePath = "/";
        }
        return settings.config().stickyCookieName() + "=" + token + "; Path=" + cookiePath + "; HttpOnly; SameSite=Lax"
                + (request.isSecure() ? "; Secure" : "");
    }

    /** Binds the application's session to the answering server when its response sets the session cookie. */
    private void bindSession(String setCookie, Server server) {
        int eq = setCookie.indexOf('=');
        if (eq <= 0 || server == null) {
            return;
        }
        if (!setCookie.substring(0, eq).strip().equals(settings.config().sessionCookieName())) {
            return;
        }
        int semi = setCookie.indexOf(';', eq);
        String value = (semi < 0 ? setCookie.substring(eq + 1) : setCookie.substring(eq + 1, semi)).strip();
        String attributes = semi < 0
                ? ""
                : setCookie.substring(semi).toLowerCase(Locale.ROOT).replace(" ", "");
        boolean deleted = value.isEmpty() || attributes.contains(";max-age=0");
        if (deleted) {
            if (requestSessionKey != null) {
                settings.lb().unbindSession(requestSessionKey);
            }
            return;
        }
        try {
            settings.lb().bindSession(value, server.id());
        } catch (NoSuchElementException e) {
            // The server left the pool meanwhile; the next request will be assigned afresh.
        }
    }

    private Map<String, String> trailerFields() {
        Headers t = trailers;
        if (t == null || t.size() == 0) {
            return Map.of();
        }
        Map<String, String> fields = new LinkedHashMap<>();
        for (String name : t.names()) {
            fields.put(name, String.join(", ", t.values(name)));
        }
        return fields;
    }

    private static Headers trailersOf(Response upstream) {
        try {
            return upstream.trailers();
        } catch (IOException | IllegalStateException e) {
            return null;
        }
    }

    /**
     * Copies the body, flushing whenever the upstream has nothing more buffered if {@code eager} (streams of unknown
     * length, such as server-sent events, reach the client as they are produced); a fixed-length body is left to the
     * container's buffering.
     */
    private void stream(ResponseBody body, boolean eager) throws IOException {
        OutputStream out;
        try {
            out = response.getOutputStream();
            if (eager) {
                out.flush(); // send the headers now: the first event may be a while away
            }
        } catch (IOException e) {
            throw new ClientWriteException(e);
        }
        // Straight from the upstream source's buffer segments to the client: no copy array per response.
        BufferedSource source = body.source();
        okio.Buffer buffered = source.getBuffer();
        while (!source.exhausted()) { // reads what the upstream has sent, or waits for it
            try {
                buffered.writeTo(out, buffered.size());
                if (eager) {
                    out.flush();
                }
            } catch (IOException e) {
                throw new ClientWriteException(e);
            }
        }
    }

    /**
     * Answers a call that failed before any response: 503 (overloaded or no server), 504 (timeout) or 502. When the
     * call was a resend after a server failed mid-body ({@code resent}), finding no other server is that failure:
     * 502, not "no healthy servers".
     */
    private void failed(IOException e, boolean resent) {
        if (clientGone || bodyFailed) {
            badBodyOrGone(null);
            return;
        }
        // A call cancelled by anything else is the request timeout (OkHttp's call timeout cancels the call): 504.
        int status;
        String message;
        if (Balancing.isOverloaded(e)) {
            // Every healthy server is at its limit: say when to come back, as for the proxy's own limit.
            status = 503;
            message = ErrorResponses.OVERLOADED;
            setRetryAfter();
        } else if (Balancing.isNoServer(e) && !resent) {
            status = 503;
            message = ErrorResponses.NO_SERVER;
            setRetryAfter();
        } else if (e instanceof InterruptedIOException) {
            status = 504; // SocketTimeoutException included: the server was too slow
            message = ErrorResponses.GATEWAY_TIMEOUT;
        } else {
            status = 502;
            message = ErrorResponses.BAD_GATEWAY;
        }
        try {
            ErrorResponses.send(response, status, message);
        } catch (IOException | RuntimeException ignored) {
            clientGone = true;
        }
        finishOnce(status, null);
    }

    /**
     * The client's request body broke off or was malformed: the client's failure, not the server's. Cancelling the
     * call makes the balancer release the server's lease without an outcome, so a few clients giving up mid-upload
     * cannot get a healthy server ejected.
     */
    private void clientBodyFailed() {
        bodyFailed = true;
        Call c = call;
        if (c != null) {
            c.cancel();
        }
    }

    /**
     * The client went away, or its request body broke off or was malformed (a bad chunk, a body shorter than its
     * Content-Length): the latter gets 400 and the connection is closed, since where its next request would start is
     * unknown. A client that has gone reads nothing either way.
     */
    private void badBodyOrGone(String serverId) {
        if (bodyFailed && !clientGone && !response.isCommitted()) {
            try {
                response.reset();
                response.setHeader("Connection", "close");
                ErrorResponses.send(response, 400, ErrorResponses.BAD_REQUEST);
                finishOnce(400, serverId);
                return;
            } catch (IOException | RuntimeException e) {
                clientGone = true;
            }
        }
        finishOnce(0, serverId);
    }

    private void setRetryAfter() {
        if (!response.isCommitted()) {
            response.setHeader("Retry-After", Integer.toString(settings.config().retryAfterSeconds()));
        }
    }

    private void abort(Exception cause, String serverId) throws IOException {
        if (!completed.compareAndSet(false, true)) {
            return;
        }
        boolean committed = response.isCommitted();
        // The upstream fell silent mid-body (read timeout): too slow, as before its headers.
        boolean timeout = cause instanceof InterruptedIOException;
        int status = timeout ? 504 : 502;
        finish.finished(method, path, serverId, committed ? response.getStatus() : status, startNanos);
        if (!committed) {
            try {
                response.reset(); // the upstream's status and headers, not yet sent
                ErrorResponses.send(
                        response, status, timeout ? ErrorResponses.GATEWAY_TIMEOUT : ErrorResponses.BAD_GATEWAY);
            } catch (IOException | RuntimeException ignored) {
                // the client went away too
            }
            return;
        }
        throw cause instanceof IOException io ? io : new IOException("upstream failed", cause);
    }

    private void finishOnce(int status, String serverId) {
        if (completed.compareAndSet(false, true)) {
            finish.finished(method, path, serverId, status, startNanos);
        }
    }

    // Helpers --------------------------------------------------------------------------------------------------

    /**
     * The path to forward, still percent-encoded as the client sent it: the request URI without the context path
     * and, for a prefix mapping such as {@code /lb/*}, without the prefix.
     */
    public static String forwardPath(HttpServletRequest request) {
        String uri = request.getRequestURI();
        String contextPath = request.getContextPath();
        String path = !contextPath.isEmpty() && uri.startsWith(contextPath) ? uri.substring(contextPath.length()) : uri;
        if (request.getHttpServletMapping() != null
                && request.getHttpServletMapping().getMappingMatch() == jakarta.servlet.http.MappingMatch.PATH) {
            String servletPath = request.getServletPath();
            if (!servletPath.isEmpty() && path.startsWith(servletPath)) {
                path = path.substring(servletPath.length());
            }
        }
        return path.isEmpty() ? "/" : path;
    }

    private static String viaProtocol(String protocol) {
        return protocol != null && protocol.startsWith("HTTP/") ? protocol.substring(5) : "1.1";
    }

    /** A write to the client failed: the client went away. */
    private static final class ClientWriteException extends IOException {
        ClientWriteException(IOException cause) {
            super(cause);
        }
    }
}
