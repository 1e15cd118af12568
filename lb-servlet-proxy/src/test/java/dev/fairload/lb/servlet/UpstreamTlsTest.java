package dev.fairload.lb.servlet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.tls.HeldCertificate;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Backends over https: verified against the JDK's trust store or a configured bundle, or explicitly not at all. */
class UpstreamTlsTest {
    private final HeldCertificate ca = new HeldCertificate.Builder()
            .certificateAuthority(0)
            .commonName("Backend CA")
            .build();
    private final HeldCertificate backendCert = new HeldCertificate.Builder()
            .signedBy(ca)
            .commonName("backend")
            .addSubjectAlternativeName("127.0.0.1")
            .build();
    private final OkHttpClient client =
            new OkHttpClient.Builder().readTimeout(10, TimeUnit.SECONDS).build();
    private org.eclipse.jetty.server.Server backend;
    private int backendPort;
    private ProxyRuntime runtime;
    private JettyProxy proxy;

    @TempDir
    Path dir;

    @BeforeEach
    void startBackend() throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("backend", backendCert.keyPair().getPrivate(), "pw".toCharArray(), new Certificate[] {
            backendCert.certificate()
        });
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setKeyStore(store);
        ssl.setKeyStorePassword("pw");
        backend = new org.eclipse.jetty.server.Server();
        ServerConnector connector = new ServerConnector(backend, ssl);
        connector.setHost("127.0.0.1");
        backend.addConnector(connector);
        backend.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(
                    org.eclipse.jetty.server.Request request,
                    org.eclipse.jetty.server.Response response,
                    Callback callback) {
                response.write(true, StandardCharsets.UTF_8.encode("secure backend " + request.isSecure()), callback);
                return true;
            }
        });
        backend.start();
        backendPort = connector.getLocalPort();
    }

    @AfterEach
    void stop() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        if (runtime != null) {
            runtime.close();
        }
        backend.stop();
    }

    private void startProxy(ProxyConfig config) throws Exception {
        runtime = ProxyRuntime.builder(LoadBalancer.builder()
                        .addServer(Server.of("127.0.0.1", backendPort))
                        .build())
                .config(config)
                .closeBalancer(true)
                .build();
        proxy = new JettyProxy(runtime, "/*");
    }

    private Response get() throws Exception {
        return client.newCall(new Request.Builder().url(proxy.url("/")).build()).execute();
    }

    @Test
    void trustedByConfiguredBundle_succeeds_untrustedByJdkStore_fails() throws Exception {
        Path bundle = dir.resolve("ca.pem");
        Files.writeString(bundle, ca.certificatePem());
        startProxy(ProxyConfig.builder()
                .upstreamTls(true)
                .upstreamTrustStorePath(bundle.toString())
                .maxRetries(0)
                .build());
        try (Response r = get()) {
            assertThat(r.code()).isEqualTo(200);
            assertThat(r.body().string()).isEqualTo("secure backend true");
        }

        // Without the bundle the JDK's trust store is used, which does not know this CA: the handshake fails.
        Map<String, Object> noBundle = new java.util.HashMap<>();
        noBundle.put("upstreamTrustStorePath", null);
        runtime.update(noBundle);
        try (Response r = get()) {
            assertThat(r.code()).isEqualTo(502);
        }
    }

    @Test
    void untrustedBackend_badGateway_thenTrustedOnceConfigured() throws Exception {
        startProxy(ProxyConfig.builder().upstreamTls(true).maxRetries(0).build());
        try (Response r = get()) {
            assertThat(r.code()).isEqualTo(502);
        }
        // The same proxy, now told about the CA, reaches it: the configured store is what decides.
        Path bundle = dir.resolve("ca.pem");
        Files.writeString(bundle, ca.certificatePem());
        runtime.update(Map.of("upstreamTrustStorePath", bundle.toString()));
        try (Response r = get()) {
            assertThat(r.code()).isEqualTo(200);
        }
    }

    @Test
    void insecure_onlyWhenExplicit_warns() throws Exception {
        PrintStream originalErr = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try {
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            startProxy(ProxyConfig.builder()
                    .upstreamTls(true)
                    .upstreamTlsInsecure(true)
                    .maxRetries(0)
                    .build());
        } finally {
            System.setErr(originalErr);
        }
        assertThat(captured.toString(StandardCharsets.UTF_8))
                .contains("WARN")
                .contains("upstreamTlsInsecure is on: backend certificates and host names are NOT verified");
        try (Response r = get()) {
            assertThat(r.code()).isEqualTo(200);
        }
    }

    @Test
    void unreadableBundle_refusedNamingField() throws Exception {
        startProxy(ProxyConfig.builder().upstreamTls(true).build());
        Path missing = dir.resolve("missing.pem");
        assertThatThrownBy(() -> runtime.update(Map.of("upstreamTrustStorePath", missing.toString())))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("upstreamTrustStorePath: cannot read " + missing);
        Path notPem = dir.resolve("not.pem");
        Files.writeString(notPem, "hello");
        assertThatThrownBy(() -> runtime.update(Map.of("upstreamTrustStorePath", notPem.toString())))
                .hasMessage("upstreamTrustStorePath: " + notPem + ": no PEM CERTIFICATE block (the file holds no"
                        + " PEM blocks)");
        assertThat(runtime.config().upstreamTrustStorePath()).isNull();
        assertThatThrownBy(() -> ProxyConfig.builder()
                        .upstreamTlsInsecure(true)
                        .upstreamTrustStorePath(notPem.toString())
                        .build())
                .hasMessageStartingWith("upstreamTlsInsecure: true (expected: false when upstreamTrustStorePath");
    }
}
