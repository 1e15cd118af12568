package dev.fairload.lb.examples.war;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.servlet.ProxyConfig;
import dev.fairload.lb.servlet.ProxyRegistration;
import dev.fairload.lb.servlet.ProxyRuntime;
import dev.fairload.lb.servlet.admin.AdminServlet;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletContextEvent;
import jakarta.servlet.ServletContextListener;
import jakarta.servlet.annotation.WebListener;
import java.net.URI;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fairload as a web application: at deploy, builds a balancer over the backends named in the context parameter
 * {@code fairload.backends} (comma-separated {@code http://host:port} URLs), registers the reverse proxy on {@code
 * /lb/*} and the admin API on {@code /api/*}, and closes everything at undeploy.
 *
 * <p>Context parameters (in {@code web.xml}, or without rebuilding the WAR in Tomcat's context descriptor {@code
 * conf/Catalina/localhost/APP.xml} as {@code <Parameter name="fairload.backends" value="..." override="false"/>}):
 * {@code fairload.backends}, required; {@code fairload.adminToken}, the admin API's bearer token (without one the
 * admin API is open to whoever reaches the container, which is logged as a warning).
 *
 * <p>Registering the admin API turns on active health checks ({@code GET /health} on every backend, every 30 s, every
 * second while a backend is down): a backend without {@code /health} takes no traffic. Turn them off with {@code
 * PUT /api/config {"healthCheckEnabled": false}} or in the {@link ProxyConfig} built here.
 */
@WebListener
public final class FairloadListener implements ServletContextListener {
    private static final Logger log = LoggerFactory.getLogger(FairloadListener.class);
    private static final String RUNTIME = ProxyRuntime.class.getName();

    @Override
    public void contextInitialized(ServletContextEvent event) {
        ServletContext context = event.getServletContext();
        String backends = context.getInitParameter("fairload.backends");
        if (backends == null || backends.isBlank()) {
            throw new IllegalStateException("fairload.backends: missing (expected: http://host:port,...)");
        }
        LoadBalancer.Builder lb = LoadBalancer.builder().name("war");
        for (String url : backends.split(",")) {
            URI uri = URI.create(url.trim());
            lb.addServer(Server.of(uri.getHost(), uri.getPort()));
        }
        ProxyRuntime runtime = ProxyRuntime.builder(lb.build())
                .config(ProxyConfig.defaults())
                .closeBalancer(true) // runtime.close() closes the balancer too
                .build();
        context.setAttribute(RUNTIME, runtime);

        ProxyRegistration.register(context, "/lb/*", runtime);
        String token = context.getInitParameter("fairload.adminToken");
        if (token == null) {
            log.warn("fairload.adminToken not set: the admin API under /api/* is open to anyone who reaches it");
        }
        AdminServlet.register(
                context, AdminServlet.builder(runtime).bearerToken(token).build());
        log.info(
                "fairload example: proxy on {}/lb/*, admin API on {}/api/*, backends {}",
                context.getContextPath(),
                context.getContextPath(),
                backends);
    }

    @Override
    public void contextDestroyed(ServletContextEvent event) {
        ProxyRuntime runtime = (ProxyRuntime) event.getServletContext().getAttribute(RUNTIME);
        if (runtime != null) {
            runtime.close();
            log.info("fairload example: closed");
        }
    }
}
