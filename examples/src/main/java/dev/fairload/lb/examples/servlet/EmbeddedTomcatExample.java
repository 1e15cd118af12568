package dev.fairload.lb.examples.servlet;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.servlet.ProxyConfig;
import dev.fairload.lb.servlet.ProxyRegistration;
import dev.fairload.lb.servlet.ProxyRuntime;
import java.nio.file.Files;
import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;

/**
 * The reverse proxy in an embedded Tomcat (10.1 or 11): the snippet of docs/proxy.md, runnable. {@code
 * EmbeddedTomcatExampleTest} starts it in front of two backends and sends requests through it.
 */
public final class EmbeddedTomcatExample implements AutoCloseable {
    private final Tomcat tomcat;
    private final ProxyRuntime runtime;

    private EmbeddedTomcatExample(Tomcat tomcat, ProxyRuntime runtime) {
        this.tomcat = tomcat;
        this.runtime = runtime;
    }

    /** Starts Tomcat on 127.0.0.1:{@code port} (0 for any free port) in front of two local backends. */
    public static EmbeddedTomcatExample start(int port, int backendPort1, int backendPort2) throws Exception {
        LoadBalancer lb = LoadBalancer.builder()
                .addServer(Server.of("127.0.0.1", backendPort1))
                .addServer(Server.of("127.0.0.1", backendPort2))
                .build();
        ProxyRuntime runtime = ProxyRuntime.builder(lb)
                .config(ProxyConfig.builder().sessionPersistence(true).build())
                .closeBalancer(true)
                .build();

        Tomcat tomcat = new Tomcat();
        tomcat.setBaseDir(Files.createTempDirectory("tomcat").toString());
        Connector connector = new Connector(); // HTTP/1.1; without a connector nothing listens
        connector.setPort(port);
        connector.setProperty("address", "127.0.0.1");
        tomcat.setConnector(connector);
        Context ctx = tomcat.addContext("", null);
        ctx.addServletContainerInitializer(ProxyRegistration.initializer("/lb/*", runtime), null);
        tomcat.start();
        return new EmbeddedTomcatExample(tomcat, runtime);
    }

    /** The port Tomcat listens on. */
    public int port() {
        return tomcat.getConnector().getLocalPort();
    }

    /** Stops Tomcat, then closes the runtime (and with it the balancer). */
    @Override
    public void close() throws Exception {
        tomcat.stop();
        tomcat.destroy();
        runtime.close();
    }
}
