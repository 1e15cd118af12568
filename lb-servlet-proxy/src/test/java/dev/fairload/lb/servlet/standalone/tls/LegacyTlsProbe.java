package dev.fairload.lb.servlet.standalone.tls;

import dev.fairload.lb.servlet.ProxyConfig;
import dev.fairload.lb.servlet.internal.Pem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.Security;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Run in a JVM of its own by {@link LegacyProtocolsTest}: handshakes with old protocols and weak suites, first
 * against a plain JDK server that allows them (to prove this JVM can speak them at all), then against the proxy.
 * Prints one line per handshake: {@code <target> <protocol> <cipher or *>: ok <protocol>} or {@code ...: refused};
 * then one {@code suite12} line for every TLS 1.2 cipher suite this JVM supports, tried alone against the proxy.
 */
public final class LegacyTlsProbe {
    private LegacyTlsProbe() {}

    public static void main(String[] args) throws Exception {
        // The JDK disables TLS 1.0 and 1.1 by default on both sides. Lifted here, before any TLS class is used, for
        // this JVM only: a refusal below can then only come from the proxy's own protocol and cipher settings.
        Security.setProperty("jdk.tls.disabledAlgorithms", "");
        Path cert = Path.of(args[0]);
        Path key = Path.of(args[1]);

        try (SSLServerSocket control = controlServer(cert, key)) {
            Thread acceptor = new Thread(() -> {
                while (!control.isClosed()) {
                    try (SSLSocket s = (SSLSocket) control.accept()) {
                        s.startHandshake();
                    } catch (Exception e) {
                        // the client's view is what is printed
                    }
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            for (String protocol : new String[] {"TLSv1", "TLSv1.1"}) {
                probe("control", control.getLocalPort(), protocol, null);
            }
        }

        try (TlsProxy proxy = new TlsProxy(ProxyConfig.builder()
                .sslTermination(true)
                .sslPort(TlsProxy.freePort())
                .sslCertPath(cert.toString())
                .sslKeyPath(key.toString())
                .build())) {
            int port = proxy.tls.port();
            probe("proxy", port, "TLSv1", null);
            probe("proxy", port, "TLSv1.1", null);
            probe("proxy", port, "TLSv1.2", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256");
            probe("proxy", port, "TLSv1.2", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA");
            probe("proxy", port, "TLSv1.2", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
            probe("proxy", port, "TLSv1.3", null);
            // Every TLS 1.2 suite this JVM can speak (its bans lifted), one handshake each: "suite12" lines.
            for (String suite : trustingAll().getSocketFactory().getSupportedCipherSuites()) {
                if (suite.startsWith("TLS_")
                        && !suite.startsWith("TLS_AES_")
                        && !suite.startsWith("TLS_CHACHA20_")
                        && !suite.equals("TLS_EMPTY_RENEGOTIATION_INFO_SCSV")) {
                    probe("suite12", port, "TLSv1.2", suite);
                }
            }
        }
        System.out.flush();
        System.exit(0);
    }

    private static void probe(String target, int port, String protocol, String cipher) {
        String label = target + " " + protocol + " " + (cipher == null ? "*" : cipher) + ": ";
        try (SSLSocket socket = (SSLSocket) trustingAll().getSocketFactory().createSocket("127.0.0.1", port)) {
            socket.setEnabledProtocols(new String[] {protocol});
            if (cipher != null) {
                socket.setEnabledCipherSuites(new String[] {cipher});
            }
            socket.setSoTimeout(10_000);
            socket.startHandshake();
            System.out.println(label + "ok " + socket.getSession().getProtocol());
        } catch (Exception e) {
            System.out.println(label + "refused (" + e.getMessage() + ")");
        }
    }

    private static SSLServerSocket controlServer(Path cert, Path key) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        X509Certificate[] chain = Pem.certificates(Files.readAllBytes(cert)).toArray(new X509Certificate[0]);
        store.setKeyEntry("k", Pem.privateKey(Files.readAllBytes(key)), "pw".toCharArray(), (Certificate[]) chain);
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(store, "pw".toCharArray());
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), null, null);
        SSLServerSocket server =
                (SSLServerSocket) context.getServerSocketFactory().createServerSocket(0);
        server.setEnabledProtocols(new String[] {"TLSv1", "TLSv1.1"});
        return server;
    }

    private static SSLContext trustingAll() throws Exception {
        SSLContext context = SSLContext.getInstance("TLS");
        // A probe of protocol support only: the certificate is not what is tested here.
        context.init(
                null,
                new TrustManager[] {
                    new X509TrustManager() {
                        @Override
                        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

                        @Override
                        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

                        @Override
                        public X509Certificate[] getAcceptedIssuers() {
                            return new X509Certificate[0];
                        }
                    }
                },
                null);
        return context;
    }
}
