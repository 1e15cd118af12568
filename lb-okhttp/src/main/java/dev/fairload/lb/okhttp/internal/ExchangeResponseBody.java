package dev.fairload.lb.okhttp.internal;

import dev.fairload.lb.exchange.Exchange;
import java.io.IOException;
import okhttp3.Call;
import okhttp3.MediaType;
import okhttp3.ResponseBody;
import okio.Buffer;
import okio.BufferedSource;
import okio.ForwardingSource;
import okio.Okio;

/**
 * A response body that tells its exchange when the response is finished with: at the end of the stream or on close
 * ({@link Exchange#onBodyEnd()}), or when reading fails ({@link Exchange#onBodyFailure}, or {@link Exchange#cancel()}
 * when the call was cancelled: not the server's failure). Whichever comes first wins; the exchange ignores the rest.
 *
 * <p>Not thread-safe, like any {@link ResponseBody}; a cancel from another thread is resolved by the exchange.
 */
final class ExchangeResponseBody extends ResponseBody {
    private final ResponseBody delegate;
    private final Exchange exchange;
    private final Call call;
    private BufferedSource source;

    ExchangeResponseBody(ResponseBody delegate, Exchange exchange, Call call) {
        this.delegate = delegate;
        this.exchange = exchange;
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
            source = Okio.buffer(new ExchangeSource(delegate.source()));
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
            exchange.onBodyEnd();
        }
    }

    private final class ExchangeSource extends ForwardingSource {
        ExchangeSource(BufferedSource delegate) {
            super(delegate);
        }

        @Override
        public long read(Buffer sink, long byteCount) throws IOException {
            long read;
            try {
                read = super.read(sink, byteCount);
            } catch (IOException e) {
                if (call.isCanceled()) {
                    exchange.cancel();
                } else {
                    // The caller has the response already: it cannot be sent again.
                    exchange.onBodyFailure(e, false);
                }
                throw e;
            }
            if (read == -1) {
                exchange.onBodyEnd();
            }
            return read;
        }

        @Override
        public void close() throws IOException {
            try {
                super.close();
            } finally {
                exchange.onBodyEnd();
            }
        }
    }
}
