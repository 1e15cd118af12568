package dev.fairload.lb.servlet.internal;

import dev.fairload.lb.Lease;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.PickContext;
import dev.fairload.lb.Server;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicBoolean;
import okhttp3.HttpUrl;
import okhttp3.Interceptor;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.ResponseBody;
import okio.Buffer;
import okio.ForwardingSource;
import okio.Okio;

/**
 * The one place the proxy touches the balancing interceptor. INTERIM: a minimal stand-in with the lb-okhttp
 * interceptor's contract, until that module's {@code LoadBalancingInterceptor} is merged.
 */
public final class Balancing {
    private Balancing() {}

    public static Interceptor interceptor(String host, LoadBalancer lb, int maxRetries) {
        return new Interim(host, lb, maxRetries);
    }

    /** Whether the upstream call failed because no server could be picked. */
    public static boolean isNoServer(Throwable error) {
        return error instanceof NoServerException;
    }

    static final class NoServerException extends IOException {
        NoServerException(String message) {
            super(message);
        }
    }

    private static final class Interim implements Interceptor {
        private final String host;
        private final LoadBalancer lb;
        private final int maxRetries;

        Interim(String host, LoadBalancer lb, int maxRetries) {
            this.host = host;
            this.lb = lb;
            this.maxRetries = maxRetries;
        }

        @Override
        public Response intercept(Chain chain) throws IOException {
            Request request = chain.request();
            if (!host.equals(request.url().host())) {
                return chain.proceed(request);
            }
            PickContext context = request.tag(PickContext.class);
            if (context == null) {
                context = PickContext.empty();
            }
            IOException last = null;
            for (int attempt = 0; ; attempt++) {
                Lease lease = lb.pick(context);
                if (!lease.isAcquired()) {
                    IOException e = new NoServerException("no server: " + lease.unavailableReason());
                    if (last != null) {
                        last.addSuppressed(e);
                        throw last;
                    }
                    throw e;
                }
                Server server = lease.server();
                HttpUrl url = request.url()
                        .newBuilder()
                        .host(server.host())
                        .port(server.port())
                        .build();
                Request attemptRequest =
                        request.newBuilder().url(url).tag(Server.class, server).build();
                boolean replayable = request.body() == null || !request.body().isOneShot();
                Response response;
                try {
                    response = chain.proceed(attemptRequest);
                } catch (IOException e) {
                    lease.fail(e);
                    if (last != null) {
                        e.addSuppressed(last);
                    }
                    last = e;
                    if (attempt >= maxRetries || chain.call().isCanceled() || !replayable) {
                        throw e;
                    }
                    context = context.withExcluded(server);
                    continue;
                }
                int code = response.code();
                if (code >= 502 && code <= 504 && attempt < maxRetries && replayable) {
                    lease.complete(code);
                    response.close();
                    context = context.withExcluded(server);
                    continue;
                }
                return release(response, lease);
            }
        }

        private static Response release(Response response, Lease lease) {
            ResponseBody body = response.body();
            AtomicBoolean done = new AtomicBoolean();
            int code = response.code();
            ForwardingSource source = new ForwardingSource(body.source()) {
                @Override
                public long read(Buffer sink, long byteCount) throws IOException {
                    long n;
                    try {
                        n = super.read(sink, byteCount);
                    } catch (IOException e) {
                        if (done.compareAndSet(false, true)) {
                            lease.fail(e);
                        }
                        throw e;
                    }
                    if (n == -1 && done.compareAndSet(false, true)) {
                        lease.complete(code);
                    }
                    return n;
                }

                @Override
                public void close() throws IOException {
                    if (done.compareAndSet(false, true)) {
                        lease.complete(code);
                    }
                    super.close();
                }
            };
            return response.newBuilder()
                    .body(ResponseBody.create(Okio.buffer(source), body.contentType(), body.contentLength()))
                    .build();
        }
    }
}
