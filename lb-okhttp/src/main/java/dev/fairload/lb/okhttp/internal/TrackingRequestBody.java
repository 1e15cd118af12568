package dev.fairload.lb.okhttp.internal;

import java.io.IOException;
import okhttp3.MediaType;
import okhttp3.RequestBody;
import okio.BufferedSink;

/**
 * Forwards a request body and counts how often OkHttp started writing it. The interceptor reads the count to
 * tell whether an attempt may have sent the request (a write started) or provably did not, and whether a
 * one-shot or duplex body is already consumed and must not be replayed.
 */
final class TrackingRequestBody extends RequestBody {
    private final RequestBody delegate;
    private volatile int writes;

    TrackingRequestBody(RequestBody delegate) {
        this.delegate = delegate;
    }

    int writes() {
        return writes;
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
        delegate.writeTo(sink);
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
