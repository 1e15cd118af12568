package dev.fairload.lb.benchmarks.proxy;

import dev.fairload.lb.Lease;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.PickContext;
import java.util.Set;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * The leanest forwarding measured beside the standalone proxy: a Jetty core {@link Handler} (no servlet layer) that
 * forwards each request over Jetty's non-blocking {@link HttpClient} to the server a Fairload {@link LoadBalancer}
 * picks, streams the answer back with Jetty's asynchronous writes, and completes the lease with the outcome. It does
 * the header work a reverse proxy must (hop-by-hop headers removed, {@code X-Forwarded-For} appended), and nothing
 * else: no retries, no timeouts beyond the client's, no stickiness. It answers how much faster than Jetty's
 * {@code ProxyServlet} forwarding over a non-blocking client can be on this machine, not how the product forwards.
 *
 * <p>Thread-safe; one instance serves every request.
 */
final class CoreForwarder extends Handler.Abstract {

    private static final Set<String> HOP_BY_HOP = Set.of(
            "connection",
            "keep-alive",
            "proxy-connection",
            "te",
            "trailer",
            "transfer-encoding",
            "upgrade",
            "proxy-authorization",
            "proxy-authenticate");

    private final HttpClient client;
    private final LoadBalancer lb;

    CoreForwarder(HttpClient client, LoadBalancer lb) {
        super(InvocationType.NON_BLOCKING);
        this.client = client;
        this.lb = lb;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        Lease lease = lb.pick(PickContext.empty());
        if (!lease.isAcquired()) {
            Response.writeError(request, response, callback, 503);
            return true;
        }
        dev.fairload.lb.Server server = lease.server();
        org.eclipse.jetty.client.Request upstream = client.newRequest(server.host(), server.port())
                .method(request.getMethod())
                .path(request.getHttpURI().getPathQuery());
        String clientAddress = Request.getRemoteAddr(request);
        upstream.headers(headers -> {
            headers.clear();
            for (HttpField field : request.getHeaders()) {
                if (!HOP_BY_HOP.contains(field.getLowerCaseName())) {
                    headers.add(field);
                }
            }
            String forwarded = headers.get(HttpHeader.X_FORWARDED_FOR);
            headers.put(
                    HttpHeader.X_FORWARDED_FOR, forwarded == null ? clientAddress : forwarded + ", " + clientAddress);
        });
        if (request.getLength() != 0) {
            upstream.body(new BodyFromClient(request));
        }
        upstream.onResponseHeaders(answer -> {
            response.setStatus(answer.getStatus());
            HttpFields.Mutable headers = response.getHeaders();
            for (HttpField field : answer.getHeaders()) {
                if (!HOP_BY_HOP.contains(field.getLowerCaseName())) {
                    headers.add(field);
                }
            }
        });
        upstream.onResponseContentSource((answer, source) -> new Pump(source, response).run());
        upstream.send(result -> {
            if (result.isSucceeded()) {
                lease.complete(result.getResponse().getStatus());
                callback.succeeded();
            } else {
                lease.fail(result.getFailure());
                if (response.isCommitted()) {
                    callback.failed(result.getFailure());
                } else {
                    Response.writeError(request, response, callback, 502);
                }
            }
        });
        return true;
    }

    /** Copies the upstream body to the client chunk by chunk, asking for the next chunk once one is written. */
    private static final class Pump implements Runnable {
        private final Content.Source source;
        private final Response response;

        Pump(Content.Source source, Response response) {
            this.source = source;
            this.response = response;
        }

        @Override
        public void run() {
            while (true) {
                Content.Chunk chunk = source.read();
                if (chunk == null) {
                    source.demand(this);
                    return;
                }
                if (Content.Chunk.isFailure(chunk)) {
                    return; // the send listener sees the failure
                }
                if (!chunk.hasRemaining()) {
                    chunk.release();
                    if (chunk.isLast()) {
                        return;
                    }
                    continue;
                }
                boolean last = chunk.isLast();
                response.write(
                        false,
                        chunk.getByteBuffer(),
                        Callback.from(
                                () -> {
                                    chunk.release();
                                    if (!last) {
                                        run();
                                    }
                                },
                                failure -> {
                                    chunk.release();
                                    source.fail(failure);
                                }));
                return;
            }
        }
    }

    /** The client's request body as the upstream request's content, read as the upstream connection asks for it. */
    private static final class BodyFromClient implements org.eclipse.jetty.client.Request.Content {
        private final Request request;

        BodyFromClient(Request request) {
            this.request = request;
        }

        @Override
        public String getContentType() {
            return request.getHeaders().get(HttpHeader.CONTENT_TYPE);
        }

        @Override
        public long getLength() {
            return request.getLength();
        }

        @Override
        public Content.Chunk read() {
            return request.read();
        }

        @Override
        public void demand(Runnable demandCallback) {
            request.demand(demandCallback);
        }

        @Override
        public void fail(Throwable failure) {
            request.fail(failure);
        }
    }
}
