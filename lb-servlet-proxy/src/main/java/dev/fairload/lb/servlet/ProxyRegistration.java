package dev.fairload.lb.servlet;

import jakarta.servlet.ServletContainerInitializer;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletRegistration;
import java.util.Objects;

/**
 * Registers a {@link ProxyServlet} in a servlet container under a path mapping.
 *
 * <pre>{@code
 * // Any container, from code that has the ServletContext (a listener, Spring's ServletContextInitializer, ...):
 * ProxyRegistration.register(servletContext, "/lb/*", runtime);
 *
 * // Embedded Tomcat:
 * Context ctx = tomcat.addContext("", null);
 * ctx.addServletContainerInitializer(ProxyRegistration.initializer("/lb/*", runtime), null);
 *
 * // Embedded Jetty 12 (ee10):
 * ServletContextHandler ctx = new ServletContextHandler("/");
 * ctx.addServletContainerInitializer(ProxyRegistration.initializer("/lb/*", runtime));
 * }</pre>
 *
 * <p>Nothing registers itself: the jar ships no {@code META-INF/services} initializer and no web fragment, so adding
 * it to an application never opens a proxy by surprise. The servlet handles each request on the container thread
 * that received it, so the container's thread pool bounds the requests in flight.
 *
 * <p>Stateless and thread-safe.
 */
public final class ProxyRegistration {
    /** Servlet name used when none is given. */
    public static final String DEFAULT_NAME = "fairload-proxy";

    private ProxyRegistration() {}

    /**
     * Adds a proxy servlet named {@value #DEFAULT_NAME} under {@code mapping} ({@code /*} or a prefix such as {@code
     * /lb/*}, which is removed from forwarded paths).
     *
     * @throws IllegalArgumentException if the mapping is not {@code /*} or {@code /prefix/*}
     * @throws IllegalStateException if the context is already initialized or has a servlet of that name
     */
    public static ServletRegistration.Dynamic register(ServletContext context, String mapping, ProxyRuntime runtime) {
        return register(context, DEFAULT_NAME, mapping, runtime);
    }

    /** {@link #register(ServletContext, String, ProxyRuntime)} with a servlet name of your choice. */
    public static ServletRegistration.Dynamic register(
            ServletContext context, String name, String mapping, ProxyRuntime runtime) {
        Objects.requireNonNull(context, "context");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(runtime, "runtime");
        validateMapping(mapping);
        ServletRegistration.Dynamic registration = context.addServlet(name, new ProxyServlet(runtime));
        if (registration == null) {
            throw new IllegalStateException("name: '" + name + "' (expected: no servlet of that name yet)");
        }
        registration.setLoadOnStartup(1);
        registration.addMapping(mapping);
        return registration;
    }

    /**
     * A container initializer that registers the proxy under {@code mapping} when the context starts; hand it to the
     * container explicitly (see the class comment).
     *
     * @throws IllegalArgumentException if the mapping is not {@code /*} or {@code /prefix/*}
     */
    public static ServletContainerInitializer initializer(String mapping, ProxyRuntime runtime) {
        Objects.requireNonNull(runtime, "runtime");
        validateMapping(mapping);
        return (classes, context) -> register(context, mapping, runtime);
    }

    private static void validateMapping(String mapping) {
        Objects.requireNonNull(mapping, "mapping");
        boolean ok = mapping.equals("/*")
                || (mapping.startsWith("/")
                        && mapping.endsWith("/*")
                        && mapping.length() > 3
                        && mapping.indexOf('*') == mapping.length() - 1
                        && mapping.chars().noneMatch(c -> c <= ' ' || c == '?' || c == '#'));
        if (!ok) {
            throw new IllegalArgumentException("mapping: '" + mapping + "' (expected: /* or a prefix such as /lb/*)");
        }
    }
}
