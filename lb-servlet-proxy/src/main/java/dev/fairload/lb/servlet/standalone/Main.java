package dev.fairload.lb.servlet.standalone;

import java.io.PrintStream;
import java.util.concurrent.CountDownLatch;

/**
 * The standalone reverse proxy: {@code java -jar lb-proxy.jar [--config FILE] [--port N] [--admin-port N] [--backend
 * URL]... [--discover dns+srv://NAME | dns://NAME:PORT [--dns-server HOST:PORT]] [--algorithm NAME] [--state FILE] [--tls-cert FILE --tls-key FILE] [--tls-port N] [--admin-tls] [--demo]}.
 *
 * <p>It prints one line when it is ready, {@code Fairload proxy listening on http://HOST:PORT/ (admin
 * http://127.0.0.1:PORT/)}, and runs until the process is told to stop. Bad options, a bad configuration file or a
 * busy port print a one-line message and exit with status 2. On SIGTERM (or SIGINT) it stops accepting connections,
 * lets requests in flight finish for up to the drain timeout (30 s by default), and exits with status 0.
 *
 * <p>Not for embedding: use {@link dev.fairload.lb.servlet.ProxyServlet} in your own container instead.
 */
public final class Main {
    /** Exit status for bad options, configuration or ports. */
    public static final int EXIT_USAGE = 2;

    private Main() {}

    public static void main(String[] args) {
        quietLogging();
        int status = run(args, System.out, System.err);
        if (status != 0) {
            System.exit(status);
        }
        // Running: Jetty's threads keep the JVM alive until the shutdown hook has drained and halted it.
    }

    /** Starts the proxy and returns 0 once it runs, or prints a message and returns a non-zero status. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        Settings settings;
        try {
            settings = Settings.parse(args);
        } catch (UsageException e) {
            err.println("fairload: " + e.getMessage());
            err.println("Try --help.");
            return EXIT_USAGE;
        }
        if (settings.help) {
            out.println(Settings.USAGE);
            return 0;
        }
        StandaloneProxy proxy = new StandaloneProxy(settings);
        try {
            proxy.start();
        } catch (UsageException e) {
            err.println("fairload: " + e.getMessage());
            return EXIT_USAGE;
        } catch (Exception e) {
            err.println("fairload: cannot start: " + e);
            return 1;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            err.println("fairload: stopping; requests in flight get up to "
                                    + settings.drainTimeoutSeconds + " s");
                            proxy.stop();
                            err.println("fairload: stopped");
                            err.flush();
                            stopped.countDown();
                            // A JVM ended by a signal exits with 128+signal; a clean drain is a clean exit.
                            Runtime.getRuntime().halt(0);
                        },
                        "fairload-shutdown"));
        String shownHost = settings.host.equals("0.0.0.0") ? "localhost" : settings.host;
        out.println("Fairload proxy listening on http://" + shownHost + ":" + proxy.port() + "/ (admin "
                + (settings.adminTls ? "https" : "http") + "://" + settings.adminHost + ":" + proxy.adminPort() + "/)"
                + (proxy.tlsPort() > 0 ? " and https://" + shownHost + ":" + proxy.tlsPort() + "/" : "")
                + (settings.demo ? " with demo backends demo-1, demo-2, demo-3" : ""));
        if (settings.state != null) {
            out.println("State file " + settings.state.toAbsolutePath() + ": admin API changes are saved there");
        }
        if (settings.discovery != null) {
            out.println("Servers from " + settings.discovery.sourceName()
                    + (settings.discovery.resolver() == null ? "" : " via " + settings.discovery.resolver())
                    + ": requests get 503 until it answers");
        } else if (proxy.runtime().loadBalancer().pool().size() == 0) {
            err.println("fairload: no backends yet: requests get 503 until servers are added (--backend URL, backends"
                    + " in --config, or POST /api/servers)");
        }
        out.flush();
        return 0;
    }

    private static void quietLogging() {
        setIfAbsent("org.slf4j.simpleLogger.defaultLogLevel", "info");
        setIfAbsent("org.slf4j.simpleLogger.log.org.eclipse.jetty", "warn");
        setIfAbsent("org.slf4j.simpleLogger.showDateTime", "true");
        setIfAbsent("org.slf4j.simpleLogger.logFile", "System.err");
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}
