package dev.fairload.lb.servlet.internal;

import dev.fairload.lb.LoadBalancer;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.CookieJar;
import okhttp3.Dispatcher;
import okhttp3.Interceptor;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import okhttp3.Request;

/**
 * Builds the balanced upstream clients of one proxy. Every client built here shares one dispatcher (its threads)
 * and the connection pool of the idle timeout in force, so rebuilding for a new retry count or timeout costs no
 * connections; a new idle timeout starts a new pool.
 *
 * <p>Threads: the proxy servlet runs each call on the container thread that received the request
 * ({@code call.execute()}), so the dispatcher's threads serve only calls enqueued through {@link
 * dev.fairload.lb.servlet.ProxyRuntime#client()}; the dispatcher must not limit those per host, since every upstream URL
 * has the same logical host.
 */
public final class UpstreamClients {
    /**
     * The tag of a request whose client sent no {@code User-Agent}, no {@code Accept-Encoding}, or neither. OkHttp
     * gives every request that lacks them its own (and, for {@code Accept-Encoding: gzip}, would decode the answer);
     * the proxy sends {@code Accept-Encoding: identity} instead, so that OkHttp leaves the encoding alone, and a
     * network interceptor takes both out again just before the request is written: the server sees the headers the
     * client sent, not those of the proxy's client library.
     */
    enum Omitted {
        USER_AGENT,
        ACCEPT_ENCODING,
        BOTH;

        /** What a request without these headers omitted, or null when it has both. */
        static Omitted of(boolean noUserAgent, boolean noAcceptEncoding) {
            if (noUserAgent) {
                return noAcceptEncoding ? BOTH : USER_AGENT;
            }
            return noAcceptEncoding ? ACCEPT_ENCODING : null;
        }
    }

    private static final Interceptor NOTHING_ADDED = chain -> {
        Request request = chain.request();
        Omitted omitted = request.tag(Omitted.class);
        if (omitted == null) {
            return chain.proceed(request);
        }
        Request.Builder b = request.newBuilder();
        if (omitted != Omitted.ACCEPT_ENCODING) {
            b.removeHeader("User-Agent");
        }
        if (omitted != Omitted.USER_AGENT) {
            b.removeHeader("Accept-Encoding");
        }
        return chain.proceed(b.build());
    };

    private final LoadBalancer lb;
    private final String upstreamHost;
    /** The base client of the idle timeout in force; a new idle timeout brings a new connection pool. */
    private volatile Base base;

    private final ExecutorService executor;
    private final ScheduledThreadPoolExecutor timeouts;
    private final PoolMaintenance maintenance;

    /** A base client and the idle timeout of its connection pool. */
    public record Base(OkHttpClient client, int idleTimeoutMillis) {}

    /** {@code idleTimeoutMillis}: how long an idle upstream connection is kept for reuse. */
    public UpstreamClients(LoadBalancer lb, String upstreamHost, OkHttpClient baseClient, int idleTimeoutMillis) {
        this.lb = lb;
        this.upstreamHost = upstreamHost;
        AtomicInteger count = new AtomicInteger();
        this.executor =
                new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
                    Thread t = new Thread(r, "fairload-proxy-" + lb.name() + "-" + count.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        this.timeouts = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "fairload-proxy-" + lb.name() + "-timeouts");
            t.setDaemon(true);
            return t;
        });
        timeouts.setRemoveOnCancelPolicy(true);
        this.maintenance = new PoolMaintenance("fairload-proxy-" + lb.name() + "-pool");
        Dispatcher dispatcher = new Dispatcher(executor);
        dispatcher.setMaxRequests(Integer.MAX_VALUE);
        dispatcher.setMaxRequestsPerHost(Integer.MAX_VALUE);
        OkHttpClient.Builder b = baseClient == null ? new OkHttpClient.Builder() : baseClient.newBuilder();
        b.interceptors().clear();
        OkHttpClient client = b.dispatcher(dispatcher)
                .connectionPool(maintenance.newPool(256, idleTimeoutMillis, TimeUnit.MILLISECONDS))
                .followRedirects(false)
                .followSslRedirects(false)
                .cookieJar(CookieJar.NO_COOKIES)
                .cache(null)
                .protocols(List.of(Protocol.HTTP_1_1))
                .addNetworkInterceptor(NOTHING_ADDED)
                .build();
        this.base = new Base(client, idleTimeoutMillis);
    }

    /**
     * The base client for {@code idleTimeoutMillis}: the one in force, or, for another value, one with a new
     * connection pool (same threads), which {@link #use} puts in force once the configuration is.
     */
    public Base baseFor(int idleTimeoutMillis) {
        Base current = base;
        if (current.idleTimeoutMillis() == idleTimeoutMillis) {
            return current;
        }
        OkHttpClient client = current.client()
                .newBuilder()
                .connectionPool(maintenance.newPool(256, idleTimeoutMillis, TimeUnit.MILLISECONDS))
                .build();
        return new Base(client, idleTimeoutMillis);
    }

    /**
     * Puts {@code next} in force. A replaced pool's idle connections are closed now; those in use are closed when
     * their calls end and their old idle timeout passes.
     */
    public void use(Base next) {
        Base previous = base;
        base = next;
        if (previous.client().connectionPool() != next.client().connectionPool()) {
            previous.client().connectionPool().evictAll();
        }
    }

    /** A balanced client with these settings over {@code base}, sharing its threads and connections. */
    public OkHttpClient client(
            Base base,
            int maxRetries,
            List<Integer> retryOnStatus,
            int connectTimeoutMillis,
            int readTimeoutMillis,
            int writeTimeoutMillis,
            UpstreamTls tls) {
        return tls.applyTo(base.client().newBuilder())
                .addInterceptor(Balancing.interceptor(upstreamHost, lb, maxRetries, retryOnStatus, tls.scheme()))
                .connectTimeout(connectTimeoutMillis, TimeUnit.MILLISECONDS)
                .readTimeout(readTimeoutMillis, TimeUnit.MILLISECONDS)
                .writeTimeout(writeTimeoutMillis, TimeUnit.MILLISECONDS)
                .build();
    }

    /**
     * {@code client} with the proxy's deadlines: {@code requestTimeoutMillis} for the whole call, retries included
     * (OkHttp's call timeout), and {@code responseHeadersTimeoutMillis} per attempt ({@link ResponseHeadersTimeout}).
     * Zero turns either off.
     */
    public OkHttpClient withDeadlines(OkHttpClient client, int requestTimeoutMillis, int responseHeadersTimeoutMillis) {
        OkHttpClient.Builder b = client.newBuilder().callTimeout(requestTimeoutMillis, TimeUnit.MILLISECONDS);
        if (responseHeadersTimeoutMillis > 0) {
            b.addNetworkInterceptor(new ResponseHeadersTimeout(timeouts, responseHeadersTimeoutMillis));
        }
        return b.build();
    }

    /** Stops idle threads and closes idle connections; calls in flight finish. */
    public void close() {
        executor.shutdown();
        timeouts.shutdownNow();
        base.client().connectionPool().evictAll();
        maintenance.close();
    }
}
