package dev.fairload.lb.servlet.internal;

import java.io.IOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.Connection;
import okhttp3.Interceptor;
import okhttp3.MediaType;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okio.BufferedSink;

/**
 * A per-attempt deadline for the response headers, as a network interceptor: the clock starts when the request
 * (body included) has been written, and if no response headers arrived when it runs out, the attempt's connection
 * is closed and the attempt fails with a {@link SocketTimeoutException}. The balancing interceptor, which sits
 * before it, then counts a failure against the server and retries the request elsewhere when that is safe.
 *
 * <p>Why not OkHttp's timeouts: the read timeout bounds each silence, so a server answering one byte a second never
 * trips it, and the call timeout spans every retry, so it ends the whole request instead of one attempt.
 *
 * <p>Cost: one scheduled task per attempt on a shared single-thread scheduler, cancelled (and removed from its
 * queue) when the headers arrive, so the queue holds at most one task per attempt in flight.
 */
public final class ResponseHeadersTimeout implements Interceptor {
    private static final int WAITING = 0;
    private static final int ANSWERED = 1;
    private static final int EXPIRED = 2;

    private final ScheduledExecutorService scheduler;
    private final long millis;

    public ResponseHeadersTimeout(ScheduledExecutorService scheduler, long millis) {
        this.scheduler = scheduler;
        this.millis = millis;
    }

    @Override
    public Response intercept(Chain chain) throws IOException {
        Connection connection = chain.connection();
        if (millis <= 0 || connection == null) {
            return chain.proceed(chain.request());
        }
        Deadline deadline = new Deadline(connection.socket());
        Request request = chain.request();
        RequestBody body = request.body();
        if (body == null) {
            deadline.start();
        } else {
            request = request.newBuilder()
                    .method(request.method(), new StartingBody(body, deadline))
                    .build();
        }
        Response response;
        try {
            response = chain.proceed(request);
        } catch (IOException e) {
            if (deadline.answered()) {
                throw e;
            }
            throw deadline.timeout(e);
        }
        if (!deadline.answered()) {
            response.close();
            throw deadline.timeout(null);
        }
        return response;
    }

    private final class Deadline implements Runnable {
        private final Socket socket;
        private final AtomicInteger state = new AtomicInteger(WAITING);
        private volatile ScheduledFuture<?> task;

        Deadline(Socket socket) {
            this.socket = socket;
        }

        void start() {
            if (task == null && state.get() == WAITING) {
                task = scheduler.schedule(this, millis, TimeUnit.MILLISECONDS);
            }
        }

        /** Marks the headers as arrived in time; false if the deadline had already expired. */
        boolean answered() {
            ScheduledFuture<?> t = task;
            if (t != null) {
                t.cancel(false);
            }
            return state.compareAndSet(WAITING, ANSWERED) || state.get() == ANSWERED;
        }

        @Override
        public void run() {
            if (state.compareAndSet(WAITING, EXPIRED)) {
                try {
                    socket.close(); // wakes the attempt's blocked read; the connection is not reused
                } catch (IOException ignored) {
                    // closing is all that matters
                }
            }
        }

        SocketTimeoutException timeout(IOException cause) {
            SocketTimeoutException e = new SocketTimeoutException("no response headers within " + millis + " ms");
            if (cause != null) {
                e.initCause(cause);
            }
            return e;
        }
    }

    /** Starts the deadline once the body is written. */
    private static final class StartingBody extends RequestBody {
        private final RequestBody delegate;
        private final Deadline deadline;

        StartingBody(RequestBody delegate, Deadline deadline) {
            this.delegate = delegate;
            this.deadline = deadline;
        }

        @Override
        public MediaType contentType() {
            return delegate.contentType();
        }

        @Override
        public long contentLength() throws IOException {
            return delegate.contentLength();
        }

        @Override
        public boolean isOneShot() {
            return delegate.isOneShot();
        }

        @Override
        public boolean isDuplex() {
            return delegate.isDuplex();
        }

        @Override
        public void writeTo(BufferedSink sink) throws IOException {
            delegate.writeTo(sink);
            deadline.start();
        }
    }
}
