package dev.fairload.lb.okhttp.internal;

import java.io.IOException;
import okhttp3.MediaType;
import okhttp3.RequestBody;
import okio.Buffer;
import okio.BufferedSink;
import okio.ForwardingSink;
import okio.Okio;
import okio.Sink;

/**
 * Forwards a request body and counts how often OkHttp started writing it. The interceptor reads the count to
 * tell whether an attempt may have sent the request (a write started) or provably did not, and whether a
 * one-shot or duplex body is already consumed and must not be replayed. It also tells a body that failed to
 * produce its bytes from one whose bytes failed to reach the server.
 */
final class TrackingRequestBody extends RequestBody {
    private final RequestBody delegate;
    private volatile int writes;
    private volatile boolean sourceFailed;

    TrackingRequestBody(RequestBody delegate) {
        this.delegate = delegate;
    }

    int writes() {
        return writes;
    }

    /**
     * Whether writing the body failed in the body itself (its own source, such as a file or another stream), not in
     * sending it: the server is not to blame for that.
     */
    boolean sourceFailed() {
        return sourceFailed;
    }

    /** Whether sending this body again could replay bytes that are gone or already streamed. */
    boolean consumed() {
        return writes > 0 && (delegate.isOneShot() || delegate.isDuplex());
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
    @SuppressWarnings("NonAtomicVolatileUpdate") // one call writes its body from one thread at a time
    public void writeTo(BufferedSink sink) throws IOException {
        writes++;
        WatchedSink watched = new WatchedSink(sink);
        BufferedSink buffered = Okio.buffer(watched);
        try {
            delegate.writeTo(buffered);
            if (!delegate.isDuplex()) {
                buffered.emit(); // what the body wrote but did not flush, as OkHttp's own sink would keep it
            }
        } catch (IOException e) {
            if (!watched.failed) {
                sourceFailed = true;
            }
            throw e;
        }
    }

    /** Passes writes on to the network, remembering whether one failed there. */
    private static final class WatchedSink extends ForwardingSink {
        volatile boolean failed;

        WatchedSink(Sink delegate) {
            super(delegate);
        }

        @Override
        public void write(Buffer source, long byteCount) throws IOException {
            try {
                super.write(source, byteCount);
            } catch (IOException e) {
                failed = true;
                throw e;
            }
        }

        @Override
        public void flush() throws IOException {
            try {
                super.flush();
            } catch (IOException e) {
                failed = true;
                throw e;
            }
        }

        @Override
        public void close() throws IOException {
            try {
                super.close();
            } catch (IOException e) {
                failed = true;
                throw e;
            }
        }
    }

    @Override
    public boolean isOneShot() {
        return delegate.isOneShot();
    }

    @Override
    public boolean isDuplex() {
        return delegate.isDuplex();
    }
}
