package dev.fairload.lb.okhttp.internal;

import dev.fairload.lb.PickContext;
import dev.fairload.lb.Server;
import dev.fairload.lb.exchange.Exchange;
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
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLPeerUnverifiedException;
import okhttp3.Call;
import okhttp3.HttpUrl;
import okhttp3.Interceptor;
import okhttp3.Request;
import okhttp3.Response;

/**
 * One call to a balanced service: an OkHttp adapter of the exchange engine ({@link Exchange}), on the caller's
 * thread. The engine decides every rule (which server, whether and when to try another, the retry budget, lease
 * completion, session binding); this class moves the request and tells the engine what happened:
 *
 * <ul>
 *   <li>whether a failed attempt was sent: not if the failure is one that happens before a byte can reach the
 *       server (connection refused, no route, unknown host, TLS handshake) or the request's body was never written;
 *   <li>the hints: a {@link PickContext} tag and keys from headers and cookies ({@link StickyKeys}), a {@link
 *       Retryable} tag, and whether the body is one-shot or duplex;
 *   <li>what is not the server's doing, as a cancel: a cancelled call, an interrupted thread, a request body that
 *       fails to produce its bytes (its own source, not the network), an unchecked exception from a later
 *       interceptor.
 * </ul>
 *
 * <p>Backoff: the engine returns the pause and this adapter sleeps the caller's thread for it, since that thread
 * waits for the call's result anyway; interrupting it ends the call with {@link InterruptedIOException}. A response
 * with a retryable status is kept unread during the pause and returned if no other server is left.
 *
 * <p>Leases: the returned response's body reports its end, close or failure to the exchange ({@link
 * ExchangeResponseBody}), which completes the lease once.
 */
public final class BalancedCall {
    private BalancedCall() {}

    public static Response execute(Interceptor.Chain chain, ServiceRoute route, CallSettings settings)
            throws IOException {
        Request original = chain.request();
        Call call = chain.call();
        Exchange exchange = route.engine().newExchange(original.method(), StickyKeys.context(original, settings));
        Retryable retryable = original.tag(Retryable.class);
        if (retryable != null) {
            exchange.retryable(retryable == Retryable.YES);
        }
        TrackingRequestBody body = null;
        if (original.body() != null) {
            body = new TrackingRequestBody(original.body());
            if (body.isOneShot() || body.isDuplex()) {
                exchange.oneShotBody();
            }
        }
        Request template = template(original, body, settings.preserveHostHeader());

        if (exchange.start() != Exchange.Next.SEND) {
            throw new NoServerAvailableException(route.name(), exchange.unavailableReason());
        }
        List<IOException> earlier = null;
        while (true) {
            Server server = exchange.server();
            Request request = rewrite(template, route, server);
            int writesBefore = body == null ? 0 : body.writes();
            Response response;
            try {
                response = chain.proceed(request);
            } catch (IOException e) {
                if (call.isCanceled() || interrupted(e) || (body != null && body.sourceFailed())) {
                    // Cancelled, interrupted, or the request body could not produce its bytes: not the server's doing.
                    exchange.cancel();
                    throw withSuppressed(e, earlier);
                }
                boolean notSent = failedBeforeSending(e) || (body != null && body.writes() == writesBefore);
                // A one-shot body that was written, even to a connection that then failed, is gone.
                boolean sent = !notSent || (body != null && body.consumed());
                if (exchange.onFailure(e, sent) == Exchange.Next.RETRY) {
                    pause(exchange, e, earlier);
                    if (exchange.retry() == Exchange.Next.SEND) {
                        earlier = add(earlier, e);
                        continue;
                    }
                }
                throw withSuppressed(e, earlier);
            } catch (RuntimeException | Error e) {
                exchange.cancel();
                throw e;
            }
            Exchange.Next next = exchange.onResponse(response.code());
            if (next == Exchange.Next.RETRY) {
                try {
                    pause(exchange, null, earlier);
                } catch (InterruptedIOException e) {
                    response.close();
                    throw e;
                }
                next = exchange.retry();
                if (next == Exchange.Next.SEND) {
                    response.close();
                    continue;
                }
            }
            if (next != Exchange.Next.DELIVER) {
                // Cancelled while the headers arrived.
                response.close();
                throw withSuppressed(new IOException("Canceled"), earlier);
            }
            return deliver(response, exchange, call, settings);
        }
    }

    private static Response deliver(Response response, Exchange exchange, Call call, CallSettings settings) {
        if (settings.sessionCookie() != null) {
            for (String setCookie : response.headers("Set-Cookie")) {
                exchange.onSetCookie(setCookie);
            }
        }
        return response.newBuilder()
                .body(new ExchangeResponseBody(response.body(), exchange, call))
                .build();
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

    /** Sleeps the caller's thread for the engine's backoff; an interrupt ends the call. */
    private static void pause(Exchange exchange, IOException cause, List<IOException> earlier)
            throws InterruptedIOException {
        long millis = exchange.retryDelayMillis();
        if (millis <= 0) {
            return;
        }
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            exchange.cancel();
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
}
