package dev.fairload.lb.servlet.standalone;

import dev.fairload.lb.servlet.ProxyConfig;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http2.server.AbstractHTTP2ServerConnectionFactory;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.ssl.SslConnection;
import org.eclipse.jetty.server.ConnectionMetaData;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.NegotiatingServerConnection;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.BlockingArrayQueue;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * The standalone proxy's limits on what clients may cost it, applied to Jetty from the {@link ProxyConfig} read at
 * start, on the plain listener and on every HTTPS listener (see {@link #applyTo}):
 *
 * <ul>
 *   <li>{@code maxRequestHeaderSize}: request line and headers together (Jetty answers 431, or 414 for the line).
 *   <li>{@code idleTimeoutMillis}: the longest silence on a connection, between requests or inside one (a stalled
 *       request body); the connection is then closed.
 *   <li>{@code requestHeaderTimeoutMillis}: a new connection must deliver its first request's headers in this time
 *       or is closed, however steadily it trickles bytes (slowloris defence; the idle timeout alone is reset by
 *       every byte). On a TLS connection the time counts from the accept, so it bounds the handshake too. Later
 *       requests on a kept-alive connection are bounded by the idle timeout.
 *   <li>{@code maxQueuedRequests}: the container's task queue is bounded; when it is full a new task is refused and
 *       its connection closed, so memory does not grow with a backlog.
 *   <li>HTTP/2 (h2c and h2 over TLS): at most 100 concurrent streams per connection; an HTTP/2 connection is not
 *       subject to the header deadline (Jetty's HTTP/2 idle and stream limits apply).
 * </ul>
 *
 * <p>Threads: parsing is non-blocking, so a client that is slow to send its headers costs a connection and a few
 * buffers, not a container thread; the header deadline is one scheduled task per new connection on its
 * connector's scheduler. Once its headers are in, each request in flight holds one container thread (the proxy servlet
 * forwards on it, blocking), which is why the standalone proxy sizes its pool to {@code maxConcurrentRequests + 64}.
 */
final class ClientLimits extends Handler.Wrapper {
    /** Attribute of a connection that has delivered the headers of a request. */
    private static final String HEADERS_SEEN = ClientLimits.class.getName() + ".headersSeen";

    private final long headerTimeoutMillis;
    private final long idleTimeoutMillis;

    private ClientLimits(ProxyConfig config) {
        this.headerTimeoutMillis = config.requestHeaderTimeoutMillis();
        this.idleTimeoutMillis = config.idleTimeoutMillis();
    }

    /** A thread pool of {@code maxThreads} whose task queue holds at most {@code config.maxQueuedRequests()}. */
    static QueuedThreadPool threadPool(String name, int maxThreads, ProxyConfig config) {
        int queue = config.maxQueuedRequests();
        QueuedThreadPool threads =
                new QueuedThreadPool(maxThreads, 4, 60_000, new BlockingArrayQueue<>(queue, queue, queue));
        threads.setName(name);
        return threads;
    }

    /** Sets the header size and the dispatch policy on {@code http}. */
    static void configure(HttpConfiguration http, ProxyConfig config) {
        http.setRequestHeaderSize(config.maxRequestHeaderSize());
        http.setIdleTimeout(config.idleTimeoutMillis());
        // Handle a request as soon as its headers are in, so the header deadline sees it.
        http.setDelayDispatchUntilContent(false);
    }

    /**
     * Applies the limits to {@code connector} (see {@link #applyTo}) and returns the handler that marks connections
     * whose request headers have arrived: wrap every listener's handlers in it.
     */
    static ClientLimits install(ServerConnector connector, ProxyConfig config) {
        ClientLimits limits = new ClientLimits(config);
        limits.applyTo(connector);
        return limits;
    }

    /**
     * Sets the idle timeout, the HTTP/2 stream limit and the header deadline on {@code connector}, plain or TLS.
     * Call it before the connector starts; its requests must pass through this handler.
     */
    void applyTo(ServerConnector connector) {
        connector.setIdleTimeout(idleTimeoutMillis);
        for (var factory : connector.getConnectionFactories()) {
            if (factory instanceof AbstractHTTP2ServerConnectionFactory h2) {
                h2.setMaxConcurrentStreams(100);
            }
        }
        if (headerTimeoutMillis > 0) {
            // A plain bean, not this handler: the connector must not manage the handler's life cycle.
            connector.addBean(new HeaderDeadline(headerTimeoutMillis, connector.getScheduler()));
        }
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        ConnectionMetaData meta = request.getConnectionMetaData();
        if (meta.getAttribute(HEADERS_SEEN) == null) {
            meta.setAttribute(HEADERS_SEEN, Boolean.TRUE);
        }
        return super.handle(request, response, callback);
    }

    /** Closes a connection that has not delivered a request's headers some time after it was accepted. */
    private record HeaderDeadline(long timeoutMillis, Scheduler scheduler) implements Connection.Listener {
        @Override
        public void onOpened(Connection connection) {
            if (connection.getEndPoint() instanceof EndPoint.Wrapper) {
                return; // runs inside TLS: the deadline of the network connection covers it
            }
            scheduler.schedule(() -> expire(connection), timeoutMillis, TimeUnit.MILLISECONDS);
        }

        @Override
        public void onClosed(Connection connection) {}

        private static void expire(Connection connection) {
            EndPoint endPoint = connection.getEndPoint();
            if (!endPoint.isOpen() || endPoint.getConnection() != connection) {
                return; // closed, or upgraded to another protocol (h2c), which has its own limits
            }
            // Over TLS the HTTP connection is the one inside: until the handshake and ALPN are done, a negotiating
            // one; then HTTP/1 or HTTP/2.
            Connection protocol = connection instanceof SslConnection tls
                    ? tls.getSslEndPoint().getConnection()
                    : connection;
            if (protocol instanceof ConnectionMetaData meta) {
                if (meta.getAttribute(HEADERS_SEEN) != null) {
                    return; // HTTP/1 connections are their own metadata
                }
            } else if (!(protocol instanceof NegotiatingServerConnection)) {
                return; // not HTTP/1 (HTTP/2 has its own limits)
            }
            endPoint.close(); // no complete request headers (or no finished TLS handshake) in time
        }
    }
}
