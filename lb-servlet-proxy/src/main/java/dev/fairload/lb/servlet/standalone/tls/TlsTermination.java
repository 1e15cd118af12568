package dev.fairload.lb.servlet.standalone.tls;

import dev.fairload.lb.event.Subscription;
import dev.fairload.lb.servlet.ProxyConfig;
import dev.fairload.lb.servlet.ProxyRuntime;
import dev.fairload.lb.servlet.tls.CertificateInfo;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.security.Principal;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.net.ssl.SSLSession;
import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.http2.HTTP2Cipher;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.ssl.SniX509ExtendedKeyManager;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.ssl.X509;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS termination for a proxy running on an embedded Jetty 12 {@link Server}: an HTTPS listener (HTTP/2 by ALPN and
 * HTTP/1.1) on {@link ProxyConfig#sslPort()} while {@link ProxyConfig#sslTermination()} is on, with certificates from
 * {@link ProxyConfig#sslCertPath()} and {@link ProxyConfig#sslKeyPath()} (PEM, PKCS#12 or a directory; see {@code
 * docs/tls.md}), chosen by SNI when there are several.
 *
 * <p><b>Live changes.</b> Started, it follows the runtime's configuration: turning {@code sslTermination} on or off
 * opens or closes the HTTPS listener (the plain one is not touched), a new {@code sslPort} opens the new listener
 * before closing the old, new paths are loaded and validated before they replace the certificates in use. It also
 * registers itself as a {@linkplain ProxyRuntime#addConfigValidator validator}, so {@link ProxyRuntime#update} (and
 * thus {@code PUT /api/config}) refuses, naming the field, a configuration whose certificates do not load or whose
 * port cannot be bound. {@link #validate(ProxyConfig)} runs the same check on its own.
 *
 * <p><b>Rotation.</b> The files are read every scan interval (5 s by default) and compared by content; a changed set
 * is validated (every key parses and belongs to its certificate) and then swapped into every listener with Jetty's
 * {@link SslContextFactory#reload}: open connections keep their session, new handshakes present the new
 * certificate. A set that does not validate is refused with one ERROR line naming the file and the reason, and the
 * previous certificates keep serving. Key material and file contents are never logged.
 *
 * <p><b>Protocols.</b> TLS 1.3 and 1.2 only; on 1.2 only ECDHE key exchange with AEAD ciphers (AES-GCM,
 * ChaCha20-Poly1305); no renegotiation. Requests whose {@code Host} differs from the SNI name are not rejected
 * (Jetty's SNI host check is off, so that clients reaching the proxy by IP address still work).
 *
 * <p><b>Expiry.</b> {@link #certificates()} lists the certificates in use with their expiry; a certificate with
 * fewer than {@value CertificateInfo#WARNING_DAYS} days left is logged as a WARN when put in force (start, rotation,
 * path change, TLS turned on) and then every 24 hours by the file scan; never per request or per read.
 *
 * <p>Thread safety: all methods are thread-safe; configuration changes and rotations are applied one at a time.
 */
public final class TlsTermination implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TlsTermination.class);

    /** The protocols the listeners accept. */
    public static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

    /** The cipher suites the listeners accept: TLS 1.3's, and ECDHE with AEAD on TLS 1.2. */
    public static final List<String> CIPHER_SUITES = List.of(
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

    private static final Duration EXPIRY_WARNING_INTERVAL = Duration.ofHours(24);

    private final ProxyRuntime runtime;
    private final Server server;
    private final String host;
    private final HttpConfiguration baseHttp;
    private final boolean adminTls;
    private final Duration scanInterval;
    private final Consumer<? super ServerConnector> connectorCustomizer;
    private final Object lock = new Object();
    private final CopyOnWriteArrayList<SslContextFactory.Server> factories = new CopyOnWriteArrayList<>();

    private volatile CertificateSet current;
    private volatile ServerConnector connector;
    private CertificateSet validated;
    private String lastRefusal;
    private Instant nextExpiryWarning = Instant.MIN;
    private ScheduledExecutorService scanner;
    private Subscription listening;
    private Subscription validating;

    private TlsTermination(Builder b) {
        this.runtime = b.runtime;
        this.server = b.server;
        this.host = b.host;
        this.baseHttp = b.http;
        this.adminTls = b.adminTls;
        this.scanInterval = b.scanInterval;
        this.connectorCustomizer = b.connectorCustomizer;
        ProxyConfig config = runtime.config();
        if (needsCertificates(config)) {
            install(load(config));
        }
    }

    /** Starts building TLS termination for {@code runtime} served by {@code server}. */
    public static Builder builder(ProxyRuntime runtime, Server server) {
        return new Builder(runtime, server);
    }

    /**
     * Opens the HTTPS listener if the configuration asks for it, and starts following configuration changes and
     * certificate files. Call it once the server has started.
     *
     * @throws IOException if the TLS port cannot be bound; the message names {@code sslPort}
     */
    public void start() throws IOException {
        synchronized (lock) {
            ProxyConfig config = runtime.config();
            if (config.sslTermination()) {
                open(config.sslPort());
            }
            validating = runtime.addConfigValidator(this::validate);
            listening = runtime.addConfigListener(this::apply);
            scanner = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "fairload-tls-reload");
                t.setDaemon(true);
                return t;
            });
            long millis = scanInterval.toMillis();
            scanner.scheduleWithFixedDelay(this::scan, millis, millis, TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Checks that {@code next} can be put in force: its certificates load and validate, and a new TLS port can be
     * bound. Reads the files; binds nothing.
     *
     * @throws IllegalArgumentException naming the field ({@code sslCertPath}, {@code sslKeyPath} or {@code sslPort})
     */
    public void validate(ProxyConfig next) {
        validate(runtime.config(), next);
    }

    private void validate(ProxyConfig previous, ProxyConfig next) {
        Objects.requireNonNull(next, "next");
        synchronized (lock) {
            CertificateSet set = needsCertificates(next) ? load(next) : null;
            ServerConnector open = connector;
            if (next.sslTermination() && (open == null || open.getPort() != next.sslPort())) {
                checkBindable(next.sslPort());
            }
            validated = set;
        }
    }

    /**
     * The certificates in use (the default first), with days left computed now; empty when neither the HTTPS listener
     * nor the admin listener uses TLS. Cheap (no file is read) and safe to call on any thread, e.g. per admin API call
     * or metrics scrape.
     */
    public List<CertificateInfo> certificates() {
        CertificateSet set = current;
        return set == null ? List.of() : set.infos(Instant.now());
    }

    /** The HTTPS listener's local port, or -1 when it is closed. */
    public int port() {
        ServerConnector c = connector;
        return c == null ? -1 : c.getLocalPort();
    }

    /**
     * A TLS connector on {@code server} for HTTP/1.1 (and HTTP/2 by ALPN if {@code http2}) whose certificates follow
     * this instance's, for example for the admin listener. The caller adds it to its server; it is not closed by
     * {@link #close()}.
     */
    public ServerConnector newConnector(Server server, HttpConfiguration http, boolean http2) {
        HttpConfiguration https = new HttpConfiguration(http);
        https.setSecureScheme("https");
        // SNI is not required, and a Host that no certificate names is not refused: clients may use an IP address.
        https.addCustomizer(new SecureRequestCustomizer(false, false, -1, false));
        HttpConnectionFactory h1 = new HttpConnectionFactory(https);
        SslContextFactory.Server ssl = newSslContextFactory();
        ConnectionFactory[] chain;
        if (http2) {
            HTTP2ServerConnectionFactory h2 = new HTTP2ServerConnectionFactory(https);
            // No extended CONNECT (RFC 8441, WebSocket over HTTP/2): the proxy does not forward upgrades.
            h2.setConnectProtocolEnabled(false);
            // With no protocols of its own, ALPN negotiates among the connector's: h2, then http/1.1.
            ALPNServerConnectionFactory alpn = new ALPNServerConnectionFactory();
            alpn.setDefaultProtocol(h1.getProtocol());
            chain = new ConnectionFactory[] {new SslConnectionFactory(ssl, alpn.getProtocol()), alpn, h2, h1};
        } else {
            chain = new ConnectionFactory[] {new SslConnectionFactory(ssl, h1.getProtocol()), h1};
        }
        return new ServerConnector(server, chain);
    }

    /**
     * Wraps {@code handler} so that, while {@link ProxyConfig#httpsRedirect()} and TLS termination are on, plain HTTP
     * requests are answered with a 308 redirect to the same path on the HTTPS listener; everything else goes to
     * {@code handler}.
     */
    public Handler redirectingToHttps(Handler handler) {
        Handler.Wrapper wrapper = new Handler.Wrapper() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                int port = port();
                if (!request.isSecure() && port > 0 && runtime.config().httpsRedirect()) {
                    String name = Request.getServerName(request);
                    if (name.indexOf(':') >= 0 && !name.startsWith("[")) {
                        name = "[" + name + "]";
                    }
                    String location = "https://" + name + (port == 443 ? "" : ":" + port)
                            + request.getHttpURI().getPathQuery();
                    Response.sendRedirect(request, response, callback, 308, location, true);
                    return true;
                }
                return super.handle(request, response, callback);
            }
        };
        wrapper.setHandler(handler);
        return wrapper;
    }

    /** Stops following changes and files. The listeners are closed with their server. */
    @Override
    public void close() {
        synchronized (lock) {
            if (validating != null) {
                validating.close();
                listening.close();
            }
            if (scanner != null) {
                scanner.shutdownNow();
            }
        }
    }

    @Override
    public String toString() {
        return "TlsTermination{port=" + port() + ", certificates="
                + certificates().size() + "}";
    }

    // ---------------------------------------------------------------------------------------------------------------

    private boolean needsCertificates(ProxyConfig config) {
        return config.sslTermination() || adminTls;
    }

    private CertificateSet load(ProxyConfig config) {
        if (config.sslCertPath() == null) {
            throw new IllegalArgumentException("sslCertPath: missing (expected: a certificate file"
                    + (adminTls ? "; the admin listener uses TLS)" : " when sslTermination is true)"));
        }
        CertificateSet.Source source = CertificateSet.Source.read(config.sslCertPath(), config.sslKeyPath());
        CertificateSet in = current;
        if (in != null && in.sameSource(source)) {
            return in;
        }
        CertificateSet v = validated;
        if (v != null && v.sameSource(source)) {
            return v;
        }
        return CertificateSet.load(source);
    }

    private void apply(ProxyConfig previous, ProxyConfig next) {
        synchronized (lock) {
            if (needsCertificates(next)) {
                try {
                    install(load(next));
                } catch (IllegalArgumentException e) {
                    log.error("TLS certificates not changed: {}; the previous ones keep serving", e.getMessage());
                }
            } else {
                current = null;
            }
            validated = null;
            ServerConnector open = connector;
            try {
                if (next.sslTermination() && current != null) {
                    if (open == null) {
                        open(next.sslPort());
                    } else if (open.getPort() != next.sslPort()) {
                        open(next.sslPort());
                        closeConnector(open);
                    }
                } else if (open != null) {
                    closeConnector(open);
                    connector = null;
                    log.info("TLS listener on port {} closed", open.getPort());
                }
            } catch (IOException e) {
                log.error("TLS listener not changed: {}", e.getMessage());
            }
        }
    }

    private void open(int port) throws IOException {
        ServerConnector c = newConnector(server, baseHttp, true);
        c.setHost(host);
        c.setPort(port);
        connectorCustomizer.accept(c);
        server.addConnector(c);
        // Added to a running server, a connector is not managed by it; it must stop with the server.
        server.manage(c);
        try {
            c.start();
        } catch (Exception e) {
            closeConnector(c);
            throw new IOException(
                    "sslPort: cannot listen on " + host + ":" + port + " (already in use or not available)", e);
        }
        connector = c;
        log.info("TLS listener open on {}:{} (TLS 1.3/1.2; HTTP/2 and HTTP/1.1)", host, c.getLocalPort());
    }

    private void closeConnector(ServerConnector c) {
        server.removeConnector(c);
        try {
            c.stop();
        } catch (Exception e) {
            log.warn("stopping the TLS listener on port {} failed", c.getPort(), e);
        }
        for (ConnectionFactory f : c.getConnectionFactories()) {
            if (f instanceof SslConnectionFactory ssl) {
                factories.remove(ssl.getSslContextFactory());
            }
        }
    }

    private void checkBindable(int port) {
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress(host, port));
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(
                    "sslPort: " + port + " (expected: a free port; cannot listen on " + host + ":" + port + ")");
        }
    }

    /** Puts {@code set} in force in every listener; new handshakes use it, open connections keep theirs. */
    private void install(CertificateSet set) {
        if (set == current) {
            return;
        }
        for (SslContextFactory.Server factory : factories) {
            try {
                factory.reload(f -> configure(f, set));
            } catch (Exception e) {
                // The factory keeps its previous context when reloading fails.
                log.error("TLS listener kept its previous certificates: {}", e.toString());
            }
        }
        current = set;
        lastRefusal = null;
        Instant now = Instant.now();
        for (CertificateInfo info : set.infos(now)) {
            log.info(
                    "TLS certificate {}{}: {} valid until {} ({} days left), sha256 {}",
                    info.name(),
                    info.isDefault() ? " (default)" : "",
                    info.subject(),
                    info.notAfter(),
                    info.daysLeft(),
                    info.sha256());
        }
        nextExpiryWarning = Instant.MIN;
        warnExpiry(now);
    }

    /**
     * Logs a WARN for each certificate in use that expires soon: when a set is put in force, then at most once every
     * 24 hours (scans call it; requests and API reads never do). Caller holds the lock.
     */
    private void warnExpiry(Instant now) {
        CertificateSet set = current;
        if (set == null || now.isBefore(nextExpiryWarning)) {
            return;
        }
        nextExpiryWarning = now.plus(EXPIRY_WARNING_INTERVAL);
        for (CertificateInfo info : set.infos(now)) {
            if (info.expiresSoon()) {
                log.warn(
                        "TLS certificate {} ({}) {} on {}: replace it",
                        info.name(),
                        info.subject(),
                        info.daysLeft() < 0 ? "expired" : "expires in " + info.daysLeft() + " days,",
                        info.notAfter());
            }
        }
    }

    private void scan() {
        try {
            synchronized (lock) {
                CertificateSet in = current;
                if (in == null) {
                    return;
                }
                String refusal;
                try {
                    CertificateSet.Source source = CertificateSet.Source.read(in.certPath, in.keyPath);
                    if (in.sameSource(source)) {
                        lastRefusal = null;
                        warnExpiry(Instant.now());
                        return;
                    }
                    install(CertificateSet.load(source));
                    return;
                } catch (IllegalArgumentException e) {
                    refusal = e.getMessage();
                }
                if (!refusal.equals(lastRefusal)) {
                    lastRefusal = refusal;
                    log.error(
                            "TLS certificate files changed but are not usable: {}; the previous certificates"
                                    + " keep serving",
                            refusal);
                }
            }
        } catch (RuntimeException e) {
            log.error("TLS certificate scan failed", e);
        }
    }

    private SslContextFactory.Server newSslContextFactory() {
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setIncludeProtocols(PROTOCOLS.toArray(new String[0]));
        ssl.setIncludeCipherSuites(CIPHER_SUITES.toArray(new String[0]));
        ssl.setCipherComparator(HTTP2Cipher.COMPARATOR);
        ssl.setUseCipherSuitesOrder(true);
        ssl.setRenegotiationAllowed(false);
        ssl.setSniRequired(false);
        ssl.setSNISelector((keyType, issuers, session, sniHost, certificates) ->
                selectAlias(ssl, keyType, issuers, session, sniHost, certificates));
        CertificateSet set = current;
        if (set == null) {
            throw new IllegalStateException("no certificates loaded");
        }
        configure(ssl, set);
        factories.add(ssl);
        return ssl;
    }

    private static void configure(SslContextFactory factory, CertificateSet set) {
        factory.setKeyStore(set.keyStore);
        factory.setKeyStorePassword(set.password);
        factory.setKeyManagerPassword(set.password);
    }

    /**
     * Jetty's SNI match, except that a client sending no SNI name, or one that no certificate matches, gets the
     * default certificate rather than whichever the JDK's key manager finds first. Called once per key type the
     * client accepts (EC, RSA, ...), with the certificates of that type.
     */
    private String selectAlias(
            SslContextFactory.Server ssl,
            String keyType,
            Principal[] issuers,
            SSLSession session,
            String sniHost,
            Collection<X509> certificates) {
        if (sniHost != null) {
            String alias = ssl.sniSelect(keyType, issuers, session, sniHost, certificates);
            if (!SniX509ExtendedKeyManager.SniSelector.DELEGATE.equals(alias)) {
                return alias; // a match, or null: another key type has one
            }
        }
        CertificateSet set = current;
        if (set == null || !ssl.getAliases().contains(set.defaultAlias)) {
            // This factory still holds another set (a reload is under way): let the JDK choose.
            return SniX509ExtendedKeyManager.SniSelector.DELEGATE;
        }
        for (X509 x509 : certificates) {
            if (x509.getAlias().equals(set.defaultAlias)) {
                return set.defaultAlias;
            }
        }
        // The default certificate has another key type: refuse this one, so the JDK asks again for the next type.
        return null;
    }

    /** Builder for {@link TlsTermination}. Not thread-safe. */
    public static final class Builder {
        private final ProxyRuntime runtime;
        private final Server server;
        private String host = "0.0.0.0";
        private HttpConfiguration http = new HttpConfiguration();
        private boolean adminTls;
        private Duration scanInterval = Duration.ofSeconds(5);
        private Consumer<? super ServerConnector> connectorCustomizer = c -> {};

        private Builder(ProxyRuntime runtime, Server server) {
            this.runtime = Objects.requireNonNull(runtime, "runtime");
            this.server = Objects.requireNonNull(server, "server");
        }

        /** Address the HTTPS listener binds to. Default {@code 0.0.0.0}. */
        public Builder host(String host) {
            this.host = Objects.requireNonNull(host, "host");
            return this;
        }

        /** HTTP settings (compliance, headers) the HTTPS listener starts from. Default Jetty's. */
        public Builder httpConfiguration(HttpConfiguration http) {
            this.http = Objects.requireNonNull(http, "http");
            return this;
        }

        /**
         * Whether another listener (the admin one) also serves these certificates, so they are needed even while
         * {@code sslTermination} is off. Default false.
         */
        public Builder adminTls(boolean on) {
            this.adminTls = on;
            return this;
        }

        /** How often the certificate files are checked for changes, 10 ms to 1 hour. Default 5 seconds. */
        public Builder scanInterval(Duration interval) {
            Objects.requireNonNull(interval, "interval");
            if (interval.toMillis() < 10 || interval.compareTo(Duration.ofHours(1)) > 0) {
                throw new IllegalArgumentException("scanInterval: " + interval + " (expected: 10 ms to 1 hour)");
            }
            this.scanInterval = interval;
            return this;
        }

        /**
         * Called with every HTTPS listener's connector before it starts: at {@link #start()}, when {@code
         * sslTermination} is turned on, and when {@code sslPort} changes (a rotation keeps the connector). For
         * example to put the plain listener's timeouts and connection limits on it too. Not called for {@link
         * #newConnector}, whose caller has the connector in hand. Default: nothing.
         */
        public Builder connectorCustomizer(Consumer<? super ServerConnector> customizer) {
            this.connectorCustomizer = Objects.requireNonNull(customizer, "customizer");
            return this;
        }

        /**
         * Loads and validates the configured certificates (if TLS is on or {@link #adminTls}); opens nothing.
         *
         * @throws IllegalArgumentException naming {@code sslCertPath} or {@code sslKeyPath} if they do not load
         */
        public TlsTermination build() {
            return new TlsTermination(this);
        }
    }
}
