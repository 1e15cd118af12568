package dev.fairload.lb.benchmarks.proxy;

import dev.fairload.lb.Lease;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.PickContext;
import dev.fairload.lb.Strategy;
import jakarta.servlet.http.HttpServletRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.ee10.proxy.ProxyServlet;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.http.HttpCookieStore;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * Jetty 12's own {@link ProxyServlet} in front of a few backends, round robin: the peer that {@code
 * benchmarks/proxy/run.sh} compares the Fairload standalone proxy with. Everything is Jetty's default except the
 * choice of backend, so the figures are those of a user who writes the ten lines below.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar dev.fairload.lb.benchmarks.proxy.JettyProxyLauncher \
 *     --port 9231 [--tls-port 9445 --keystore FILE.p12 --keystore-password PASSWORD] \
 *     --backend http://127.0.0.1:9101 --backend http://127.0.0.1:9102 ...
 * </pre>
 *
 * <p>With {@code --balanced}, the backend of each request is picked by a Fairload {@link LoadBalancer} (round robin)
 * and its lease completed with the outcome: what forwarding over Jetty's non-blocking client would cost with
 * Fairload's balancing, measured beside the blocking upstream the standalone proxy uses (see docs/benchmarks.md).
 * With {@code --core}, a Jetty core handler forwards instead of the servlet, with the same picks ({@link
 * CoreForwarder}): forwarding without the servlet layer.
 *
 * <p>Listens on 127.0.0.1 only, prints one line when ready, and runs until the process is stopped.
 */
public final class JettyProxyLauncher {

    private JettyProxyLauncher() {}

    public static void main(String[] args) throws Exception {
        int port = 0;
        int tlsPort = 0;
        String keystore = null;
        String keystorePassword = "";
        List<String> backends = new ArrayList<>();
        boolean balanced = false;
        boolean core = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--balanced" -> balanced = true;
                case "--core" -> core = true;
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--tls-port" -> tlsPort = Integer.parseInt(args[++i]);
                case "--keystore" -> keystore = args[++i];
                case "--keystore-password" -> keystorePassword = args[++i];
                case "--backend" -> backends.add(stripSlash(args[++i]));
                default -> throw new IllegalArgumentException("unknown option: " + args[i]);
            }
        }
        if (backends.isEmpty() || (tlsPort > 0 && keystore == null)) {
            throw new IllegalArgumentException("expected: --port N [--tls-port N --keystore FILE] --backend URL...");
        }

        Server server = new Server();
        ServerConnector http = new ServerConnector(server);
        http.setHost("127.0.0.1");
        http.setPort(port);
        server.addConnector(http);
        if (tlsPort > 0) {
            SslContextFactory.Server tls = new SslContextFactory.Server();
            tls.setKeyStorePath(keystore);
            tls.setKeyStorePassword(keystorePassword);
            HttpConfiguration httpsConfig = new HttpConfiguration();
            // The benchmark connects to 127.0.0.1, which a certificate for "localhost" does not name.
            httpsConfig.addCustomizer(new SecureRequestCustomizer(false));
            ServerConnector https = new ServerConnector(
                    server, new SslConnectionFactory(tls, "http/1.1"), new HttpConnectionFactory(httpsConfig));
            https.setHost("127.0.0.1");
            https.setPort(tlsPort);
            server.addConnector(https);
        }

        String name;
        if (core) {
            // The same client settings as Jetty's ProxyServlet: the server's thread pool, 256 connections per backend.
            HttpClient client = new HttpClient();
            client.setExecutor(server.getThreadPool());
            client.setMaxConnectionsPerDestination(256);
            client.setFollowRedirects(false);
            client.setHttpCookieStore(new HttpCookieStore.Empty());
            server.addBean(client);
            server.setHandler(new CoreForwarder(client, balancer(backends)));
            name = "Jetty core handler + HttpClient with Fairload's picks";
        } else {
            ServletContextHandler context = new ServletContextHandler("/");
            ServletHolder proxy = new ServletHolder(
                    balanced ? new BalancedProxyServlet(backends) : new RoundRobinProxyServlet(backends));
            proxy.setAsyncSupported(true);
            context.addServlet(proxy, "/*");
            server.setHandler(context);
            name = balanced ? "Jetty ProxyServlet with Fairload's picks" : "Jetty ProxyServlet";
        }
        server.start();
        System.out.println(name
                + " listening on http://127.0.0.1:" + http.getLocalPort() + "/"
                + (tlsPort > 0 ? " and https://127.0.0.1:" + tlsPort + "/" : "") + " in front of " + backends);
        server.join();
    }

    /** A round-robin Fairload balancer over the backends' addresses. */
    static LoadBalancer balancer(List<String> backends) {
        LoadBalancer.Builder b = LoadBalancer.builder().name("jetty").strategy(Strategy.roundRobin());
        for (String backend : backends) {
            java.net.URI uri = java.net.URI.create(backend);
            b.addServer(dev.fairload.lb.Server.of(uri.getHost(), uri.getPort()));
        }
        return b.build();
    }

    private static String stripSlash(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }

    /** Jetty's {@link ProxyServlet}, choosing the backend of each request in turn. */
    static final class RoundRobinProxyServlet extends ProxyServlet {
        private final List<String> backends;
        private final AtomicInteger next = new AtomicInteger();

        RoundRobinProxyServlet(List<String> backends) {
            this.backends = List.copyOf(backends);
        }

        @Override
        protected String rewriteTarget(HttpServletRequest request) {
            String backend = backends.get(Math.floorMod(next.getAndIncrement(), backends.size()));
            StringBuilder target = new StringBuilder(backend).append(request.getRequestURI());
            String query = request.getQueryString();
            if (query != null) {
                target.append('?').append(query);
            }
            return target.toString();
        }
    }

    /** Jetty's {@link ProxyServlet} forwarding to the server a Fairload balancer picks, reporting each outcome. */
    static final class BalancedProxyServlet extends ProxyServlet {
        private static final String LEASE = Lease.class.getName();
        private final LoadBalancer lb;

        BalancedProxyServlet(List<String> backends) {
            this.lb = balancer(backends);
        }

        @Override
        protected String rewriteTarget(HttpServletRequest request) {
            Lease lease = lb.pick(PickContext.empty());
            if (!lease.isAcquired()) {
                return null; // answered by ProxyServlet as a rewrite failure
            }
            request.setAttribute(LEASE, lease);
            dev.fairload.lb.Server server = lease.server();
            StringBuilder target = new StringBuilder("http://")
                    .append(server.host())
                    .append(':')
                    .append(server.port())
                    .append(request.getRequestURI());
            String query = request.getQueryString();
            if (query != null) {
                target.append('?').append(query);
            }
            return target.toString();
        }

        @Override
        protected void onProxyResponseSuccess(
                HttpServletRequest clientRequest,
                jakarta.servlet.http.HttpServletResponse proxyResponse,
                org.eclipse.jetty.client.Response serverResponse) {
            ((Lease) clientRequest.getAttribute(LEASE)).complete(serverResponse.getStatus());
            super.onProxyResponseSuccess(clientRequest, proxyResponse, serverResponse);
        }

        @Override
        protected void onProxyResponseFailure(
                HttpServletRequest clientRequest,
                jakarta.servlet.http.HttpServletResponse proxyResponse,
                org.eclipse.jetty.client.Response serverResponse,
                Throwable failure) {
            Lease lease = (Lease) clientRequest.getAttribute(LEASE);
            if (lease != null) {
                lease.fail(failure);
            }
            super.onProxyResponseFailure(clientRequest, proxyResponse, serverResponse, failure);
        }
    }
}
