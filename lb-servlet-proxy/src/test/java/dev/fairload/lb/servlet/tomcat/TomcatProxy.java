package dev.fairload.lb.servlet.tomcat;

import dev.fairload.lb.servlet.ProxyRegistration;
import dev.fairload.lb.servlet.ProxyRuntime;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;

/**
 * A real embedded Tomcat on 127.0.0.1 and a free port, with the proxy registered through {@link
 * ProxyRegistration#initializer} under a path. Closing it stops Tomcat, not the runtime.
 */
final class TomcatProxy implements AutoCloseable {
    private final Tomcat tomcat;
    private final int port;

    private TomcatProxy(Tomcat tomcat, int port) {
        this.tomcat = tomcat;
        this.port = port;
    }

    static TomcatProxy start(Path base, String mapping, ProxyRuntime runtime) throws Exception {
        Tomcat tomcat = new Tomcat();
        tomcat.setBaseDir(Files.createDirectories(base.resolve("tomcat")).toString());
        Connector connector = new Connector();
        connector.setPort(0);
        connector.setProperty("address", "127.0.0.1");
        tomcat.setConnector(connector);
        Context context = tomcat.addContext("", null);
        context.addServletContainerInitializer(ProxyRegistration.initializer(mapping, runtime), null);
        tomcat.start();
        return new TomcatProxy(tomcat, connector.getLocalPort());
    }

    int port() {
        return port;
    }

    @Override
    public void close() throws Exception {
        tomcat.stop();
        tomcat.destroy();
    }
}
