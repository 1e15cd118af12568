package dev.fairload.lb.servlet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.ServerStatus;
import dev.fairload.lb.health.ActiveHealthCheck;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
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
        backend = tlsBackend(backendCert, "secure backend");
        backendPort = ((ServerConnector) backend.getConnectors()[0]).getLocalPort();
    }

    /** A Jetty server on 127.0.0.1 presenting {@code cert} and answering "{@code name} {secure}". */
    private org.eclipse.jetty.server.Server tlsBackend(HeldCertificate cert, String name) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry(
                "backend", cert.keyPair().getPrivate(), "pw".toCharArray(), new Certificate[] {cert.certificate()});
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setKeyStore(store);
        ssl.setKeyStorePassword("pw");
        org.eclipse.jetty.server.Server server = new org.eclipse.jetty.server.Server();
        // The backend serves whatever host name it is reached by: whether the name matters is the proxy's to decide.
        org.eclipse.jetty.server.HttpConfiguration http = new org.eclipse.jetty.server.HttpConfiguration();
        http.addCustomizer(new org.eclipse.jetty.server.SecureRequestCustomizer(false, false, -1, false));
        ServerConnector connector = new ServerConnector(
                server,
                new org.eclipse.jetty.server.SslConnectionFactory(ssl, "http/1.1"),
                new org.eclipse.jetty.server.HttpConnectionFactory(http));
        connector.setHost("127.0.0.1");
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(
                    org.eclipse.jetty.server.Request request,
                    org.eclipse.jetty.server.Response response,
                    Callback callback) {
                response.write(true, StandardCharsets.UTF_8.encode(name + " " + request.isSecure()), callback);
                return true;
            }
        });
        server.start();
        return server;
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

    /**
     * Active health checks reach https backends the way requests do: over https, trusting the proxy's bundle (or
     * everything when insecure), and following changes to it.
     */
    @Test
    void healthChecks_useUpstreamTls_andFollowItsTrust() throws Exception {
        Path bundle = dir.resolve("ca.pem");
        Files.writeString(bundle, ca.certificatePem());
        LoadBalancer lb = checkedBalancer(backendPort);
        runtime = ProxyRuntime.builder(lb)
                .config(ProxyConfig.builder()
                        .upstreamTls(true)
                        .upstreamTrustStorePath(bundle.toString())
                        .maxRetries(0)
                        .build())
                .closeBalancer(true)
                .build();
        proxy = new JettyProxy(runtime, "/*");
        assertThat(lb.activeHealthCheck().https()).isTrue();
        awaitStatus(lb, ServerStatus.HEALTHY, 1);
        try (Response r = get()) {
            assertThat(r.code()).isEqualTo(200);
        }

        // The JDK's trust store does not know the CA: the checks now fail the handshake too.
        Map<String, Object> noBundle = new java.util.HashMap<>();
        noBundle.put("upstreamTrustStorePath", null);
        runtime.update(noBundle);
        awaitStatus(lb, ServerStatus.UNHEALTHY, 1);

        runtime.update(Map.of("upstreamTlsInsecure", true));
        awaitStatus(lb, ServerStatus.HEALTHY, 1);

        runtime.update(Map.of("upstreamTls", false, "upstreamTlsInsecure", false));
        assertThat(lb.activeHealthCheck().https()).isFalse();
        assertThat(lb.activeHealthCheck().sslContext()).isEmpty();
    }

    /** With {@code upstreamTlsInsecure}, checks skip the host name too, as forwarding does. */
    @Test
    void healthChecks_insecure_acceptWrongHostCertificate() throws Exception {
        HeldCertificate otherHost = new HeldCertificate.Builder()
                .commonName("other")
                .addSubjectAlternativeName("other.example")
                .build();
        org.eclipse.jetty.server.Server wrongHost = tlsBackend(otherHost, "wrong host");
        try {
            int port = ((ServerConnector) wrongHost.getConnectors()[0]).getLocalPort();
            LoadBalancer lb = checkedBalancer(port);
            runtime = ProxyRuntime.builder(lb)
                    .config(ProxyConfig.builder()
                            .upstreamTls(true)
                            .upstreamTlsInsecure(true)
                            .build())
                    .closeBalancer(true)
                    .build();
            awaitStatus(lb, ServerStatus.HEALTHY, 1);
        } finally {
            wrongHost.stop();
        }
    }

    /** One server on 127.0.0.1, checked at {@code GET /} every 300 ms; one check decides its status. */
    private static LoadBalancer checkedBalancer(int port) {
        return LoadBalancer.builder()
                .addServer(Server.of("127.0.0.1", port))
                .activeHealthCheck(ActiveHealthCheck.builder()
                        .path("/")
                        .interval(Duration.ofMillis(300))
                        .timeout(Duration.ofMillis(250))
                        .rise(1)
                        .fall(1)
                        .build())
                .build();
    }

    /** Waits until the only server has the status after at least {@code checks} further finished checks. */
    private static void awaitStatus(LoadBalancer lb, ServerStatus status, int checks) {
        java.time.Instant after = java.time.Instant.now();
        await().atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> assertThat(lb.pool().list())
                        .singleElement()
                        .satisfies(v -> {
                            assertThat(v.lastHealthCheck()).isNotNull().isAfter(after);
                            assertThat(v.status()).isEqualTo(status);
                        }));
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

    /**
     * Backends whose certificate is expired, or names another host, fail the handshake: a failure before anything
     * was sent, so even a POST moves on to the next server; with only such backends the answer is 502.
     */
    @Test
    void expiredOrWrongHostCertificate_failsOverToValidBackend_else502() throws Exception {
        long now = System.currentTimeMillis();
        HeldCertificate expired = new HeldCertificate.Builder()
                .signedBy(ca)
                .addSubjectAlternativeName("127.0.0.1")
                .validityInterval(now - 2 * 86_400_000L, now - 86_400_000L)
                .build();
        HeldCertificate otherHost = new HeldCertificate.Builder()
                .signedBy(ca)
                .addSubjectAlternativeName("other.example")
                .build();
        org.eclipse.jetty.server.Server expiredBackend = tlsBackend(expired, "expired");
        org.eclipse.jetty.server.Server otherHostBackend = tlsBackend(otherHost, "other host");
        try {
            int expiredPort = ((ServerConnector) expiredBackend.getConnectors()[0]).getLocalPort();
            int otherHostPort = ((ServerConnector) otherHostBackend.getConnectors()[0]).getLocalPort();
            Path bundle = dir.resolve("ca.pem");
            Files.writeString(bundle, ca.certificatePem());
            ProxyConfig trusting = ProxyConfig.builder()
                    .upstreamTls(true)
                    .upstreamTrustStorePath(bundle.toString())
                    .build();
            proxy = JettyProxy.inFrontOf(trusting, expiredPort, otherHostPort, backendPort);
            // Round robin sends each request to both broken backends before the good one: two retries a request, and
            // every retry spends the retry budget, whose reserve (10) is what a new proxy has. Four requests (eight
            // retries) stay within it whether or not the health checks have caught up with the broken backends yet.
            for (int i = 0; i < 4; i++) {
                Request post = new Request.Builder()
                        .url(proxy.url("/order"))
                        .post(okhttp3.RequestBody.create(new byte[] {'x'}))
                        .build();
                try (Response r = client.newCall(
                                i % 2 == 0
                                        ? post
                                        : new Request.Builder()
                                                .url(proxy.url("/"))
                                                .build())
                        .execute()) {
                    assertThat(r.code()).isEqualTo(200);
                    assertThat(r.body().string()).isEqualTo("secure backend true");
                }
            }

            // Only the two broken backends (a fresh proxy, so neither is held out by earlier failures): 502.
            proxy.close();
            proxy = JettyProxy.inFrontOf(trusting, expiredPort, otherHostPort);
            try (Response r = get()) {
                assertThat(r.code()).isEqualTo(502);
            }
        } finally {
            expiredBackend.stop();
            otherHostBackend.stop();
        }
    }
}
