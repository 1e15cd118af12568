package dev.fairload.lb.servlet.standalone.tls;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.servlet.ProxyConfig;
import dev.fairload.lb.servlet.ProxyRegistration;
import dev.fairload.lb.servlet.ProxyRuntime;
import dev.fairload.lb.servlet.TestBackend;
import java.time.Duration;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/** The proxy on embedded Jetty with {@link TlsTermination}, as the standalone launcher wires it, on 127.0.0.1. */
final class TlsProxy implements AutoCloseable {
    final TestBackend backend;
    final ProxyRuntime runtime;
    final Server server;
    final TlsTermination tls;
    final int port;

    TlsProxy(ProxyConfig config) throws Exception {
        backend = new TestBackend("tls-backend");
        runtime = ProxyRuntime.builder(
                        LoadBalancer.builder().addServer(backend.asServer()).build())
                .config(config)
                .closeBalancer(true)
                .build();
        QueuedThreadPool threads = new QueuedThreadPool(64, 4);
        threads.setName("tls-proxy");
        server = new Server(threads);
        HttpConfiguration http = new HttpConfiguration();
        ServerConnector plain = new ServerConnector(server, new HttpConnectionFactory(http));
        plain.setHost("127.0.0.1");
        server.addConnector(plain);
        tls = TlsTermination.builder(runtime, server)
                .host("127.0.0.1")
                .httpConfiguration(http)
                .scanInterval(Duration.ofMillis(50))
                .build();
        ServletContextHandler context = new ServletContextHandler("/");
        context.addServletContainerInitializer(ProxyRegistration.initializer("/*", runtime));
        server.setHandler(tls.redirectingToHttps(context));
        server.start();
        port = plain.getLocalPort();
        tls.start();
    }

    String https(String host, String path) {
        return "https://" + host + ":" + tls.port() + path;
    }

    @Override
    public void close() throws Exception {
        server.stop();
        tls.close();
        runtime.close();
        backend.close();
    }

    static int freePort() throws java.io.IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
