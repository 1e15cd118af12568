package dev.fairload.lb.servlet.standalone;

import dev.fairload.lb.Discovery;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.servlet.ProxyRegistration;
import dev.fairload.lb.servlet.ProxyRuntime;
import dev.fairload.lb.servlet.standalone.tls.TlsTermination;
import dev.fairload.lb.servlet.tls.CertificateInfo;
import java.io.IOException;
import java.net.BindException;
import java.util.List;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.http.HttpCompliance;
import org.eclipse.jetty.http.UriCompliance;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The standalone proxy: a {@link ProxyRuntime} behind a Jetty 12 server (HTTP/1.1 and h2c on one port; HTTPS with
 * HTTP/2 on another while TLS termination is on, see {@link TlsTermination}), an admin server on its own port
 * (loopback by default, optionally over TLS), and the demo backends if asked for.
 *
 * <p>Stopping is graceful: the connectors stop accepting first, then requests in flight get up to the drain timeout
 * to finish, kept-alive connections are closed after their next response, and only then are the admin server, the
 * upstream client and the balancer closed (see {@link DrainHandler}).
 */
final class StandaloneProxy {
    private static final Logger log = LoggerFactory.getLogger(StandaloneProxy.class);

    private final Settings settings;
    private org.eclipse.jetty.server.Server proxyServer;
    private org.eclipse.jetty.server.Server adminServer;
    private ServletContextHandler adminContext;
    private DemoBackends demo;
    private ProxyRuntime runtime;
    private Discovery discovery;
    private volatile TlsTermination tls;
    private AdminMount admin;
    private int port;
    private int adminPort;

    StandaloneProxy(Settings settings) {
        this.settings = settings;
    }

    /**
     * Starts everything, or nothing: on failure whatever started is stopped again.
     *
     * @throws UsageException if a port is busy or the address cannot be bound
     */
    void start() throws Exception {
        try {
            // The proxy's port first: a busy port is reported before anything else starts or logs.
            proxyServer = new org.eclipse.jetty.server.Server(
                    ClientLimits.threadPool("proxy", settings.config.maxConcurrentRequests() + 64, settings.config));
            HttpConfiguration http = strictHttp();
            ClientLimits.configure(http, settings.config);
            HTTP2CServerConnectionFactory h2c = new HTTP2CServerConnectionFactory(http);
            // No extended CONNECT (RFC 8441, WebSocket over HTTP/2): the proxy does not forward upgrades.
            h2c.setConnectProtocolEnabled(false);
            ServerConnector connector = new ServerConnector(proxyServer, new HttpConnectionFactory(http), h2c);
            connector.setHost(settings.host);
            connector.setPort(settings.port);
            proxyServer.addConnector(connector);
            listen(connector, "--port", settings.host, settings.port);
            LoadBalancer.Builder lb = LoadBalancer.builder().name("proxy").strategy(settings.config.strategy());
            if (settings.demo) {
                demo = new DemoBackends();
                for (Server s : demo.servers()) {
                    lb.addServer(s);
                }
            }
            for (Server s : settings.backends) {
                lb.addServer(s);
            }
            runtime = ProxyRuntime.builder(lb.build())
                    .config(settings.config)
                    .closeBalancer(true)
                    .build();
            // Before any listener opens: restores the state file (servers and config) and settles first checks.
            admin = AdminMount.create(runtime, settings, this::tlsCertificates);
            if (settings.discovery != null) {
                // Not awaited: a resolver that does not answer yet leaves the pool empty (503) while it retries.
                discovery = Discovery.attach(runtime.loadBalancer().pool(), settings.discovery.source());
            }

            ClientLimits clientLimits = ClientLimits.install(connector, settings.config);
            try {
                tls = TlsTermination.builder(runtime, proxyServer)
                        .host(settings.host)
                        .httpConfiguration(http)
                        .adminTls(settings.adminTls)
                        .connectorCustomizer(clientLimits::applyTo)
                        .build();
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage(), e);
            }
            ServletContextHandler context = new ServletContextHandler("/");
            context.addServletContainerInitializer(ProxyRegistration.initializer("/*", runtime));
            proxyServer.setErrorHandler(JsonErrorHandler.proxy());
            context.setErrorHandler(JsonErrorHandler.proxy());
            if (settings.adminOnProxyPort) {
                admin.mountOnProxy(context);
            }
            DrainHandler drain = new DrainHandler();
            clientLimits.setHandler(tls.redirectingToHttps(context));
            drain.setHandler(clientLimits);
            proxyServer.setHandler(drain);
            proxyServer.setStopTimeout(settings.drainTimeoutSeconds * 1000L);
            start(proxyServer, "--port", settings.host, settings.port);
            port = connector.getLocalPort();
            try {
                tls.start();
            } catch (IOException e) {
                throw new UsageException(e.getMessage(), e);
            }

            adminServer = newServer("admin", 16);
            ServerConnector adminConnector = settings.adminTls
                    ? tls.newConnector(adminServer, strictHttp(), false)
                    : new ServerConnector(adminServer, 1, 1, new HttpConnectionFactory(strictHttp()));
            adminConnector.setHost(settings.adminHost);
            adminConnector.setPort(settings.adminPort);
            adminServer.addConnector(adminConnector);
            adminContext = new ServletContextHandler("/");
            admin.mount(adminServer, adminContext);
            adminServer.setHandler(adminContext);
            adminServer.setStopTimeout(1000);
            start(adminServer, "--admin-port", settings.adminHost, settings.adminPort);
            adminPort = adminConnector.getLocalPort();
        } catch (Exception e) {
            stopQuietly();
            throw e;
        }
    }

    /**
     * RFC 9110 parsing, and no bare LF as a line end either: requests that different parsers could read differently
     * (request smuggling) are rejected with 400 before any servlet sees them. No server version in answers.
     */
    private static HttpConfiguration strictHttp() {
        HttpConfiguration http = new HttpConfiguration();
        http.setHttpCompliance(HttpCompliance.RFC9110.without(
                "RFC9110_STRICT_LF",
                HttpCompliance.Violation.LF_HEADER_TERMINATION,
                HttpCompliance.Violation.LF_CHUNK_TERMINATION));
        http.setSendServerVersion(false);
        http.setSendXPoweredBy(false);
        http.setUriCompliance(UriCompliance.DEFAULT);
        return http;
    }

    private static org.eclipse.jetty.server.Server newServer(String name, int maxThreads) {
        QueuedThreadPool threads = new QueuedThreadPool(maxThreads, 4);
        threads.setName(name);
        return new org.eclipse.jetty.server.Server(threads);
    }

    private static void start(org.eclipse.jetty.server.Server server, String option, String host, int port)
            throws Exception {
        try {
            server.start();
        } catch (IOException e) {
            throw cannotListen(option, host, port, e);
        }
    }

    /** Binds the connector's socket now ({@code start} then accepts on it), so a busy port is known before the rest. */
    private static void listen(ServerConnector connector, String option, String host, int port) throws Exception {
        try {
            connector.open();
        } catch (IOException e) {
            throw cannotListen(option, host, port, e);
        }
    }

    private static UsageException cannotListen(String option, String host, int port, IOException e) {
        Throwable t = e;
        while (t != null && !(t instanceof BindException)) {
            t = t.getCause();
        }
        String why = t != null ? "already in use or not available" : e.getMessage();
        return new UsageException(option + ": cannot listen on " + host + ":" + port + " (" + why + ")", e);
    }

    int port() {
        return port;
    }

    int adminPort() {
        return adminPort;
    }

    /** The HTTPS listener's port, or -1 while TLS termination is off. */
    int tlsPort() {
        return tls == null ? -1 : tls.port();
    }

    TlsTermination tls() {
        return tls;
    }

    /** The TLS certificates in use, for the admin API and metrics; none before TLS termination is set up. */
    private List<CertificateInfo> tlsCertificates() {
        TlsTermination t = tls;
        return t == null ? List.of() : t.certificates();
    }

    ProxyRuntime runtime() {
        return runtime;
    }

    /** Refuses new connections, lets requests in flight finish (up to the drain timeout), then stops everything. */
    void stop() {
        long start = System.nanoTime();
        stopQuietly();
        log.info("stopped in {} ms", (System.nanoTime() - start) / 1_000_000);
    }

    private void stopQuietly() {
        for (org.eclipse.jetty.server.Server s : new org.eclipse.jetty.server.Server[] {proxyServer, adminServer}) {
            if (s != null) {
                try {
                    s.stop();
                } catch (java.util.concurrent.TimeoutException e) {
                    // Jetty stops anyway; what was still in flight is cut off.
                    log.warn(
                            "drain timeout: requests still in flight after {} s were cut off",
                            s.getStopTimeout() / 1000);
                } catch (Exception e) {
                    log.warn("stopping {} failed", s, e);
                }
                // A listener opened early (see start) is not closed by stopping a server that never started.
                for (org.eclipse.jetty.server.Connector c : s.getConnectors()) {
                    if (c instanceof org.eclipse.jetty.server.NetworkConnector network) {
                        network.close();
                    }
                }
            }
        }
        if (discovery != null) {
            discovery.close();
        }
        if (admin != null) {
            admin.close();
        }
        if (tls != null) {
            tls.close();
        }
        if (runtime != null) {
            runtime.close();
        }
        if (demo != null) {
            try {
                demo.close();
            } catch (Exception e) {
                log.warn("stopping the demo backends failed", e);
            }
        }
    }
}
