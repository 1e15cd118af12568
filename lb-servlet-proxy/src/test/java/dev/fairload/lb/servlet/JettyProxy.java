package dev.fairload.lb.servlet;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/** The proxy servlet in a real embedded Jetty 12 (ee10) on 127.0.0.1, registered through the initializer. */
final class JettyProxy implements AutoCloseable {
    private final org.eclipse.jetty.server.Server server;
    private final int port;
    private final ProxyRuntime runtime;
    private final boolean ownsRuntime;

    JettyProxy(ProxyRuntime runtime, String mapping) throws Exception {
        this(runtime, mapping, false);
    }

    /**
     * A proxy under {@code /*} with a runtime of its own ({@code config}, round robin over servers on 127.0.0.1 at
     * {@code ports}); {@link #close()} closes the runtime and its balancer too.
     */
    static JettyProxy inFrontOf(ProxyConfig config, int... ports) throws Exception {
        LoadBalancer.Builder lb = LoadBalancer.builder();
        for (int p : ports) {
            lb.addServer(Server.of("127.0.0.1", p));
        }
        ProxyRuntime runtime = ProxyRuntime.builder(lb.build())
                .config(config)
                .closeBalancer(true)
                .build();
        try {
            return new JettyProxy(runtime, "/*", true);
        } catch (Exception e) {
            runtime.close();
            throw e;
        }
    }

    private JettyProxy(ProxyRuntime runtime, String mapping, boolean ownsRuntime) throws Exception {
        this.runtime = runtime;
        this.ownsRuntime = ownsRuntime;
        QueuedThreadPool threads = new QueuedThreadPool(64, 4);
        threads.setName("proxy");
        server = new org.eclipse.jetty.server.Server(threads);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        ServerConnector connector = new ServerConnector(server, new HttpConnectionFactory(http));
        connector.setHost("127.0.0.1");
        server.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler("/");
        context.addServletContainerInitializer(ProxyRegistration.initializer(mapping, runtime));
        server.setHandler(context);
        server.start();
        port = connector.getLocalPort();
    }

    ProxyRuntime runtime() {
        return runtime;
    }

    int port() {
        return port;
    }

    String url(String path) {
        return "http://127.0.0.1:" + port + path;
    }

    @Override
    public void close() throws Exception {
        server.stop();
        if (ownsRuntime) {
            runtime.close();
        }
    }
}
