package dev.fairload.lb.examples.servlet;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.servlet.ProxyConfig;
import dev.fairload.lb.servlet.ProxyRegistration;
import dev.fairload.lb.servlet.ProxyRuntime;
import dev.fairload.lb.servlet.admin.AdminServlet;
import jakarta.servlet.ServletContext;
import java.nio.file.Path;

/**
 * The servlet snippets of README.md and docs/admin-api.md: the reverse proxy and the REST admin API registered in
 * an application's servlet context. {@code ServletSnippetsTest} runs both in an embedded Jetty in front of a local
 * backend.
 */
public final class ServletSnippets {
    private ServletSnippets() {}

    /** README.md: the proxy under {@code /backend/*} and the admin API under {@code /api/*} of one context. */
    public static ProxyRuntime registerProxyAndAdmin(ServletContext servletContext, LoadBalancer lb) {
        ProxyRuntime runtime =
                ProxyRuntime.builder(lb).config(ProxyConfig.defaults()).build();
        ProxyRegistration.register(servletContext, "/backend/*", runtime); // the reverse proxy
        AdminServlet.register(servletContext, AdminServlet.builder(runtime).build()); // the REST admin API under /api/*
        return runtime;
    }

    /** docs/admin-api.md: the admin API with a token, a state file and a larger request ring. */
    public static AdminServlet registerAdmin(ServletContext servletContext, ProxyRuntime runtime, Path stateFile) {
        AdminServlet admin = AdminServlet.builder(runtime) // the ProxyRuntime your ProxyServlet uses
                .bearerToken(System.getenv("LB_ADMIN_TOKEN")) // null: no token
                .stateFile(stateFile) // optional; a file in an existing directory
                .recentRequests(1000) // size of GET /api/metrics/requests' ring
                .build();
        AdminServlet.register(servletContext, admin); // maps /api/* of that context
        return admin;
    }
}
