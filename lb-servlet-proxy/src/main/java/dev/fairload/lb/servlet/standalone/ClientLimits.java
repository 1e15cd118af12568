package dev.fairload.lb.servlet.standalone;

import dev.fairload.lb.servlet.ProxyConfig;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.ConnectionMetaData;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.BlockingArrayQueue;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * The standalone proxy's limits on what clients may cost it, applied to Jetty from the {@link ProxyConfig} read at
 * start:
 *
 * <ul>
 *   <li>{@code maxRequestHeaderSize}: request line and headers together (Jetty answers 431, or 414 for the line).
 *   <li>{@code idleTimeoutMillis}: the longest silence on a connection, between requests or inside one (a stalled
 *       request body); the connection is then closed.
 *   <li>{@code requestHeaderTimeoutMillis}: a new connection must deliver its first request's headers in this time
 *       or is closed, however steadily it trickles bytes (slowloris defence; the idle timeout alone is reset by
 *       every byte). Later requests on a kept-alive connection are bounded by the idle timeout.
 *   <li>{@code maxQueuedRequests}: the container's task queue is bounded; when it is full a new task is refused and
 *       its connection closed, so memory does not grow with a backlog.
 *   <li>HTTP/2: at most 100 concurrent streams per connection.
 * </ul>
 *
 * <p>Threads: parsing is non-blocking, so a client that is slow to send its headers costs a connection and a few
 * buffers, not a container thread; the header deadline is one scheduled task per new connection on Jetty's
 * scheduler. Once its headers are in, each request in flight holds one container thread (the proxy servlet
 * forwards on it, blocking), which is why the standalone proxy sizes its pool to {@code maxConcurrentRequests + 64}.
 */
final class ClientLimits extends Handler.Wrapper implements Connection.Listener {
    /** Attribute of a connection that has delivered the headers of a request. */
    private static final String HEADERS_SEEN = ClientLimits.class.getName() + ".headersSeen";

    private final long headerTimeoutMillis;
    private final Scheduler scheduler;

    private ClientLimits(long headerTimeoutMillis, Scheduler scheduler) {
        this.headerTimeoutMillis = headerTimeoutMillis;
        this.scheduler = scheduler;
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

    /** Sets the idle timeout and stream limit on {@code connector}; returns the header-deadline handler to wrap. */
    static ClientLimits install(ServerConnector connector, ProxyConfig config) {
        connector.setIdleTimeout(config.idleTimeoutMillis());
        HTTP2CServerConnectionFactory h2c = connector.getConnectionFactory(HTTP2CServerConnectionFactory.class);
        if (h2c != null) {
            h2c.setMaxConcurrentStreams(100);
        }
        ClientLimits limits = new ClientLimits(config.requestHeaderTimeoutMillis(), connector.getScheduler());
        if (limits.headerTimeoutMillis > 0) {
            connector.addBean(limits);
        }
        return limits;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        ConnectionMetaData meta = request.getConnectionMetaData();
        if (meta.getAttribute(HEADERS_SEEN) == null) {
            meta.setAttribute(HEADERS_SEEN, Boolean.TRUE);
        }
        return super.handle(request, response, callback);
    }

    @Override
    public void onOpened(Connection connection) {
        scheduler.schedule(() -> expire(connection), headerTimeoutMillis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void onClosed(Connection connection) {}

    private static void expire(Connection connection) {
        EndPoint endPoint = connection.getEndPoint();
        if (!endPoint.isOpen() || endPoint.getConnection() != connection) {
            return; // closed, or upgraded to another protocol (h2c), which has its own limits
        }
        if (!(connection instanceof ConnectionMetaData meta) || meta.getAttribute(HEADERS_SEEN) != null) {
            return; // HTTP/1 connections are their own metadata; others are not plain HTTP/1
        }
        endPoint.close(); // no complete request headers in time
    }
}
