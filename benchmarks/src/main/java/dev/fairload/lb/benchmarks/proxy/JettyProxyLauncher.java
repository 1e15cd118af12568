package dev.fairload.lb.benchmarks.proxy;

import jakarta.servlet.http.HttpServletRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.ee10.proxy.ProxyServlet;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
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
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
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

        ServletContextHandler context = new ServletContextHandler("/");
        ServletHolder proxy = new ServletHolder(new RoundRobinProxyServlet(backends));
        proxy.setAsyncSupported(true);
        context.addServlet(proxy, "/*");
        server.setHandler(context);
        server.start();
        System.out.println("Jetty ProxyServlet listening on http://127.0.0.1:" + http.getLocalPort() + "/"
                + (tlsPort > 0 ? " and https://127.0.0.1:" + tlsPort + "/" : "") + " in front of " + backends);
        server.join();
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
}
