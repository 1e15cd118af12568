package dev.fairload.lb.okhttp.internal;

import dev.fairload.lb.Lease;
import java.io.IOException;
import okhttp3.Call;
import okhttp3.MediaType;
import okhttp3.ResponseBody;
import okio.Buffer;
import okio.BufferedSource;
import okio.ForwardingSource;
import okio.Okio;

/**
 * A response body that completes its lease when the response is finished with: at the end of the stream, on
 * close, or when reading fails. Whichever comes first wins; the lease ignores the rest. A read that fails
 * because the call was cancelled releases the lease without blaming the server.
 *
 * <p>Not thread-safe, like any {@link ResponseBody}; completion itself may race with a cancel from another
 * thread, which the lease resolves.
 */
final class LeaseResponseBody extends ResponseBody {
    private final ResponseBody delegate;
    private final Lease lease;
    private final int code;
    private final long latencyNanos;
    private final Call call;
    private BufferedSource source;

    LeaseResponseBody(ResponseBody delegate, Lease lease, int code, long latencyNanos, Call call) {
        this.delegate = delegate;
        this.lease = lease;
        this.code = code;
        this.latencyNanos = latencyNanos;
        this.call = call;
    }

    @Override
    public MediaType contentType() {
        return delegate.contentType();
    }

    @Override
    public long contentLength() {
        return delegate.contentLength();
    }

    @Override
    public BufferedSource source() {
        if (source == null) {
            source = Okio.buffer(new LeaseSource(delegate.source()));
        }
        return source;
    }

    @Override
    public void close() {
        try {
            if (source != null) {
                source.close();
            } else {
                delegate.close();
            }
        } catch (IOException ignored) {
            // As ResponseBody.close(): closing is quiet.
        } finally {
            lease.complete(code, latencyNanos);
        }
    }

    private final class LeaseSource extends ForwardingSource {
        LeaseSource(BufferedSource delegate) {
            super(delegate);
        }

        @Override
        public long read(Buffer sink, long byteCount) throws IOException {
            long read;
            try {
                read = super.read(sink, byteCount);
            } catch (IOException e) {
                if (call.isCanceled()) {
                    lease.close();
                } else {
                    lease.fail(e);
                }
                throw e;
            }
            if (read == -1) {
                lease.complete(code, latencyNanos);
            }
            return read;
        }

        @Override
        public void close() throws IOException {
            try {
                super.close();
            } finally {
                lease.complete(code, latencyNanos);
            }
        }
    }
}
