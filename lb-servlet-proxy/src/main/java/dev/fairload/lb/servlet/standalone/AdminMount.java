package dev.fairload.lb.servlet.standalone;

import dev.fairload.lb.servlet.ProxyRuntime;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;

/**
 * Where the admin API is mounted on the admin port. Until the admin servlet exists the admin port serves nothing
 * (404 for every path); {@code settings.state} is accepted and not yet read or written.
 */
final class AdminMount {
    private AdminMount() {}

    static void mount(ServletContextHandler context, ProxyRuntime runtime, Settings settings) {
        // The admin API (dev.fairload.lb.servlet.admin) is registered here once it exists.
    }
}
