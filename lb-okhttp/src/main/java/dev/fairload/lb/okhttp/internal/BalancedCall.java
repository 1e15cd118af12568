package dev.fairload.lb.okhttp.internal;

import dev.fairload.lb.Lease;
import dev.fairload.lb.PickContext;
import dev.fairload.lb.Server;
import dev.fairload.lb.okhttp.NoServerAvailableException;
import dev.fairload.lb.okhttp.Retryable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLPeerUnverifiedException;
import okhttp3.Call;
import okhttp3.HttpUrl;
import okhttp3.Interceptor;
import okhttp3.Request;
import okhttp3.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One call to a balanced service: pick, rewrite, proceed, report, and retry on another server when that is
 * safe and affordable.
 *
 * <p>When a retry is safe follows OkHttp's own rules, made stricter for non-idempotent methods:
 *
 * <ul>
 *   <li>A failure before anything was sent (connection refused, no route, unknown host, TLS handshake, or a
 *       request body that was never written) is retried whatever the method, without backoff and without
 *       spending the retry budget: the failed server did no work, so the retry adds no load to it.
 *   <li>A failure after the request may have been sent, or a response whose status the settings list as
 *       retryable (502, 503 and 504 by default), is retried only for
 *       idempotent methods (RFC 9110 section 9.2.2) or requests tagged {@link Retryable#YES}, after a backoff,
 *       and only while the service's {@link RetryBudget} allows.
 *   <li>A one-shot or duplex body is never written twice; a cancelled or interrupted call is never retried.
 *   <li>A body that fails to produce its bytes (its own source failing, not the network) ends the call: neither
 *       retried nor counted against the server.
 * </ul>
 *
 * <p>Leases: each attempt's lease is completed exactly once. A failed attempt fails its lease at once; a
 * retried response completes it with its status before the response is closed; the returned response
 * completes it when its body is read to the end, closed, or fails ({@link LeaseResponseBody}). A cancelled
 * call or an unchecked exception from a later interceptor releases the lease without an outcome.
 */
public final class BalancedCall {
    private static final Logger logger = LoggerFactory.getLogger("dev.fairload.lb.okhttp");

    private BalancedCall() {}

    public static Response execute(Interceptor.Chain chain, ServiceRoute route, CallSettings settings)
            throws IOException {
        Request original = chain.request();
        Call call = chain.call();
        PickContext context = StickyKeys.context(original, settings);
        Retryable retryable = original.tag(Retryable.class);
        boolean retryAfterSending =
                retryable == Retryable.YES || (retryable == null && isIdempotent(original.method()));
        TrackingRequestBody body = original.body() == null ? null : new TrackingRequestBody(original.body());
        Request template = template(original, body, settings.preserveHostHeader());
        RetryBudget budget = route.budget();
        budget.onRequest();

        Lease lease = route.balancer().pick(context);
        if (!lease.isAcquired()) {
            throw new NoServerAvailableException(route.name(), lease.unavailableReason());
        }
        List<IOException> earlier = null;
        for (int attempt = 0; ; attempt++) {
            Server server = lease.server();
            Request request = rewrite(template, route, server);
            int writesBefore = body == null ? 0 : body.writes();
            long start = System.nanoTime();
            Response response;
            try {
                response = chain.proceed(request);
            } catch (IOException e) {
                if (call.isCanceled() || (body != null && body.sourceFailed())) {
                    // Cancelled, or the request body could not produce its bytes: not the server's failure.
                    lease.close();
                    throw withSuppressed(e, earlier);
                }
                lease.fail(e);
                boolean notSent = failedBeforeSending(e) || (body != null && body.writes() == writesBefore);
                boolean retry = attempt < settings.maxRetries()
                        && !interrupted(e)
                        && (body == null || !body.consumed())
                        && (notSent || retryAfterSending)
                        && (notSent || budget.tryAcquire());
                if (retry) {
                    if (!notSent) {
                        pause(settings, attempt + 1, e, earlier);
                    }
                    PickContext next = context.withExcluded(server);
                    Lease nextLease = route.balancer().pick(next);
                    if (nextLease.isAcquired()) {
                        logRetry(route, request, server, e.toString(), attempt + 1);
                        earlier = add(earlier, e);
                        context = next;
                        lease = nextLease;
                        continue;
                    }
                    if (!notSent) {
                        budget.release();
                    }
                }
                throw withSuppressed(e, earlier);
            } catch (RuntimeException | Error e) {
                lease.close();
                throw e;
            }
            long latencyNanos = System.nanoTime() - start;
            int code = response.code();
            if (settings.isRetryableStatus(code)
                    && attempt < settings.maxRetries()
                    && retryAfterSending
                    && (body == null || !body.consumed())
                    && budget.tryAcquire()) {
                lease.complete(code, latencyNanos);
                try {
                    pause(settings, attempt + 1, null, earlier);
                } catch (InterruptedIOException e) {
                    response.close();
                    throw e;
                }
                PickContext next = context.withExcluded(server);
                Lease nextLease = route.balancer().pick(next);
                if (nextLease.isAcquired()) {
                    logRetry(route, request, server, "HTTP " + code, attempt + 1);
                    response.close();
                    context = next;
                    lease = nextLease;
                    continue;
                }
                budget.release();
                return response;
            }
            return finish(response, lease, code, latencyNanos, call, route, settings, context);
        }
    }

    private static Response finish(
            Response response,
            Lease lease,
            int code,
            long latencyNanos,
            Call call,
            ServiceRoute route,
            CallSettings settings,
            PickContext context) {
        if (settings.sessionCookie() != null && code < 500) {
            bindSession(response, lease.server(), route, settings.sessionCookie(), context);
        }
        if (code < 200
                || code == 204
                || code == 304
                || "HEAD".equals(response.request().method())) {
            // No body will follow: the exchange is over when the headers are.
            lease.complete(code, latencyNanos);
            return response;
        }
        return response.newBuilder()
                .body(new LeaseResponseBody(response.body(), lease, code, latencyNanos, call))
                .build();
    }

    private static void bindSession(
            Response response, Server server, ServiceRoute route, String cookie, PickContext context) {
        String sessionKey = StickyKeys.sessionSetBy(response, cookie);
        if (sessionKey != null && !sessionKey.equals(context.sessionKey())) {
            try {
                route.balancer().bindSession(sessionKey, server.id());
            } catch (NoSuchElementException removedMeanwhile) {
                logger.debug("{}: not binding a session to {}: removed", route.name(), server);
            }
        }
    }

    /** The request every attempt starts from: body tracked, {@code Host} fixed if the original is kept. */
    private static Request template(Request original, TrackingRequestBody body, boolean preserveHostHeader) {
        boolean setHost = preserveHostHeader && original.header("Host") == null;
        if (body == null && !setHost) {
            return original;
        }
        Request.Builder builder = original.newBuilder();
        if (body != null) {
            builder.method(original.method(), body);
        }
        if (setHost) {
            builder.header("Host", hostHeader(original.url()));
        }
        return builder.build();
    }

    private static Request rewrite(Request template, ServiceRoute route, Server server) {
        HttpUrl url = route.urls().rewrite(template.url(), route.scheme(), server);
        return template.newBuilder().url(url).tag(Server.class, server).build();
    }

    static String hostHeader(HttpUrl url) {
        String host = url.host().indexOf(':') >= 0 ? "[" + url.host() + "]" : url.host();
        return url.port() == HttpUrl.defaultPort(url.scheme()) ? host : host + ":" + url.port();
    }

    /** RFC 9110 section 9.2.2. */
    static boolean isIdempotent(String method) {
        switch (method) {
            case "GET":
            case "HEAD":
            case "OPTIONS":
            case "PUT":
            case "DELETE":
            case "TRACE":
                return true;
            default:
                return false;
        }
    }

    /** Failures that happen before a single byte of the request can have reached the server. */
    static boolean failedBeforeSending(IOException e) {
        return e instanceof ConnectException
                || e instanceof NoRouteToHostException
                || e instanceof UnknownHostException
                || e instanceof PortUnreachableException
                || e instanceof SSLHandshakeException
                || e instanceof SSLPeerUnverifiedException;
    }

    /** A thread interrupt (not a socket timeout) ends the call: the caller wants it to stop. */
    private static boolean interrupted(IOException e) {
        return Thread.currentThread().isInterrupted()
                || (e instanceof InterruptedIOException && !(e instanceof SocketTimeoutException));
    }

    private static void pause(CallSettings settings, int retry, IOException cause, List<IOException> earlier)
            throws InterruptedIOException {
        if (settings.backoff() == null) {
            return;
        }
        long millis = settings.backoff().apply(retry);
        if (millis <= 0) {
            return;
        }
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            InterruptedIOException interrupted = new InterruptedIOException("interrupted during retry backoff");
            if (cause != null) {
                interrupted.addSuppressed(cause);
            }
            throw withSuppressed(interrupted, earlier);
        }
    }

    private static List<IOException> add(List<IOException> list, IOException e) {
        List<IOException> result = list == null ? new ArrayList<>(2) : list;
        result.add(e);
        return result;
    }

    private static <E extends IOException> E withSuppressed(E last, List<IOException> earlier) {
        if (earlier != null) {
            for (IOException e : earlier) {
                if (e != last) {
                    last.addSuppressed(e);
                }
            }
        }
        return last;
    }

    private static void logRetry(ServiceRoute route, Request request, Server server, String why, int retry) {
        if (logger.isDebugEnabled()) {
            logger.debug(
                    "{}: retry {} of {} {} after {} from {}",
                    route.name(),
                    retry,
                    request.method(),
                    request.url().encodedPath(),
                    why,
                    server);
        }
    }
}
