package dev.fairload.lb.servlet.internal;

import dev.fairload.lb.servlet.ProxyConfig;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;
import okhttp3.OkHttpClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How the proxy reaches its backends: {@code http} or {@code https}, and for https which certificates it trusts
 * (the JDK's trust store, a configured PEM bundle, or, only when asked for explicitly, none at all).
 *
 * <p>Immutable. {@link #of(ProxyConfig, UpstreamTls)} reuses the previous instance while the settings and the
 * bundle's bytes are unchanged, so a configuration change that does not touch TLS keeps OkHttp's pooled
 * connections (OkHttp pools per TLS socket factory).
 */
public final class UpstreamTls {
    private static final Logger log = LoggerFactory.getLogger(UpstreamTls.class);

    private final boolean https;
    private final String trustStorePath;
    private final byte[] trustStoreBytes;
    private final boolean insecure;
    private final SSLContext context;
    private final X509TrustManager trustManager;

    private UpstreamTls(
            boolean https,
            String trustStorePath,
            byte[] trustStoreBytes,
            boolean insecure,
            SSLContext context,
            X509TrustManager trustManager) {
        this.https = https;
        this.trustStorePath = trustStorePath;
        this.trustStoreBytes = trustStoreBytes;
        this.insecure = insecure;
        this.context = context;
        this.trustManager = trustManager;
    }

    /**
     * The upstream TLS settings of {@code config}; the trust bundle is read now.
     *
     * @param previous the settings in force, reused if nothing changed; or null
     * @throws IllegalArgumentException naming {@code upstreamTrustStorePath} if the bundle cannot be read
     */
    public static UpstreamTls of(ProxyConfig config, UpstreamTls previous) {
        String path = config.upstreamTrustStorePath();
        byte[] bytes = null;
        if (path != null) {
            try {
                bytes = Files.readAllBytes(Path.of(path));
            } catch (IOException | RuntimeException e) {
                throw new IllegalArgumentException("upstreamTrustStorePath: cannot read " + path + " ("
                        + e.getClass().getSimpleName() + ")");
            }
        }
        if (previous != null
                && previous.https == config.upstreamTls()
                && previous.insecure == config.upstreamTlsInsecure()
                && Objects.equals(previous.trustStorePath, path)
                && Arrays.equals(previous.trustStoreBytes, bytes)) {
            return previous;
        }
        try {
            if (config.upstreamTlsInsecure()) {
                log.warn("upstreamTlsInsecure is on: backend certificates and host names are NOT verified;"
                        + " anyone on the network path can read and change the proxied traffic");
                X509TrustManager trustAll = new TrustAll();
                return new UpstreamTls(config.upstreamTls(), null, null, true, context(trustAll), trustAll);
            }
            if (bytes != null) {
                List<X509Certificate> cas;
                try {
                    cas = Pem.certificates(bytes);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("upstreamTrustStorePath: " + path + ": " + e.getMessage());
                }
                KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
                store.load(null, null);
                for (int i = 0; i < cas.size(); i++) {
                    store.setCertificateEntry("ca-" + i, cas.get(i));
                }
                TrustManagerFactory factory =
                        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                factory.init(store);
                X509TrustManager tm = (X509TrustManager) factory.getTrustManagers()[0];
                log.info("backend certificates are verified against {} CA certificate(s) from {}", cas.size(), path);
                return new UpstreamTls(config.upstreamTls(), path, bytes, false, context(tm), tm);
            }
            return new UpstreamTls(config.upstreamTls(), null, null, false, null, null);
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot set up upstream TLS", e);
        }
    }

    /** Whether backends are reached over https. */
    public boolean https() {
        return https;
    }

    /** The TLS context of the configured trust (a trust bundle, or none with {@code upstreamTlsInsecure}); null: the JDK's. */
    public SSLContext sslContext() {
        return context;
    }

    /** The scheme backends are reached with. */
    public String scheme() {
        return https ? "https" : "http";
    }

    /** Sets the trust (and, if insecure, the host name check) on {@code builder}; the JDK's defaults otherwise. */
    public OkHttpClient.Builder applyTo(OkHttpClient.Builder builder) {
        if (context != null) {
            builder.sslSocketFactory(context.getSocketFactory(), trustManager);
        }
        if (insecure) {
            builder.hostnameVerifier((host, session) -> true);
        }
        return builder;
    }

    private static SSLContext context(X509TrustManager tm) throws GeneralSecurityException {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, new TrustManager[] {tm}, null);
        return context;
    }

    /** Accepts every certificate: only ever built when {@code upstreamTlsInsecure} is explicitly on. */
    /**
     * Trusts every certificate. Extended, so that the JDK does not wrap it with a host name check of its own: the JDK
     * HTTP client of the health checks asks for one on every handshake.
     */
    private static final class TrustAll extends X509ExtendedTrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
