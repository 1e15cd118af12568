package dev.fairload.lb.servlet.internal;

import java.io.IOException;
import java.io.InputStream;
import okhttp3.MediaType;
import okhttp3.RequestBody;
import okio.BufferedSink;

/**
 * The client's request body, streamed upstream as it arrives; never held whole. One-shot: it can be sent once,
 * so the balancer never replays it after it may have been sent.
 *
 * <p>Runs on the container thread handling the request, reading the servlet input in blocking mode. A read failure means the client went away; it is reported to the exchange before the
 * upstream call fails with it.
 */
final class StreamingRequestBody extends RequestBody {
    private static final int BUFFER_SIZE = 16 * 1024;

    private final InputStream in;
    private final long contentLength;
    private final Runnable onClientFailure;

    StreamingRequestBody(InputStream in, long contentLength, Runnable onClientFailure) {
        this.in = in;
        this.contentLength = contentLength;
        this.onClientFailure = onClientFailure;
    }

    @Override
    public MediaType contentType() {
        // The Content-Type header is forwarded verbatim; a media type here would make OkHttp rewrite it.
        return null;
    }

    @Override
    public long contentLength() {
        return contentLength;
    }

    @Override
    public boolean isOneShot() {
        return true;
    }

    @Override
    public void writeTo(BufferedSink sink) throws IOException {
        // A small body of known length gets an array of its size, not the 16 KiB a stream of unknown size gets.
        int size = contentLength >= 0 && contentLength < BUFFER_SIZE ? (int) Math.max(1, contentLength) : BUFFER_SIZE;
        byte[] buffer = new byte[size];
        while (true) {
            int n;
            try {
                n = in.read(buffer);
            } catch (IOException e) {
                onClientFailure.run();
                throw e;
            }
            if (n < 0) {
                return;
            }
            sink.write(buffer, 0, n);
            if (in.available() == 0) {
                // Nothing more buffered from the client: pass on what we have rather than wait (streaming uploads).
                sink.flush();
            }
        }
    }
}
