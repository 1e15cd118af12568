package dev.fairload.lb.servlet.standalone;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.component.Graceful;

/**
 * Counts the requests in flight so that a graceful stop waits for them, and keeps serving requests that arrive on
 * connections already open once the stop has begun.
 *
 * <p>Draining: on stop the connectors close their listening sockets first (new connections are refused), HTTP/1
 * responses sent from then on carry {@code Connection: close} (Jetty's {@code HttpConnection} stops persisting once
 * its connector is shut down), HTTP/2 connections get a GOAWAY, and idle connections are closed after the connector's
 * shutdown idle timeout. The server stops once this count is 0 and every connection is closed, or when the drain
 * timeout runs out. Jetty's {@code GracefulHandler} would answer 503 to a request that arrives on a kept-alive
 * connection after the signal; a client of a load balancer that is being restarted should not see an error for a
 * request the proxy can still serve, so such a request is forwarded like any other and its response closes the
 * connection: at most one more request per open connection, so the drain stays bounded.
 *
 * <p>Thread safety: {@link #handle} runs on container threads concurrently; the count is a {@link LongAdder}.
 */
final class DrainHandler extends Handler.Wrapper implements Graceful {
    private final LongAdder inFlight = new LongAdder();
    private final Shutdown shutdown = new Shutdown(this) {
        @Override
        public boolean isShutdownDone() {
            return inFlight.sum() == 0;
        }
    };

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        Handler next = getHandler();
        if (next == null || !isStarted()) {
            return false;
        }
        // Counted before handing on, so that a stop beginning now waits for this request.
        Counted counted = new Counted(callback);
        boolean handled;
        try {
            handled = next.handle(request, response, counted);
        } catch (Throwable t) {
            counted.release();
            throw t;
        }
        if (!handled) {
            counted.release();
        }
        return handled;
    }

    /** The request's callback, releasing its count exactly once however the request ends. */
    private final class Counted extends Callback.Nested {
        private final AtomicBoolean counted = new AtomicBoolean(true);

        Counted(Callback callback) {
            super(callback);
            inFlight.increment();
        }

        @Override
        public void succeeded() {
            super.succeeded();
            release();
        }

        @Override
        public void failed(Throwable x) {
            super.failed(x);
            release();
        }

        void release() {
            if (counted.getAndSet(false)) {
                inFlight.decrement();
                if (shutdown.isShutdown()) {
                    shutdown.check();
                }
            }
        }
    }

    @Override
    public CompletableFuture<Void> shutdown() {
        return shutdown.shutdown();
    }

    @Override
    public boolean isShutdown() {
        return shutdown.isShutdown();
    }
}
