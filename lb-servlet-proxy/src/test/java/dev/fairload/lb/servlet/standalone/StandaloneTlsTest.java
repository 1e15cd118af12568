package dev.fairload.lb.servlet.standalone;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fairload.lb.servlet.TestBackend;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.tls.HandshakeCertificates;
import okhttp3.tls.HeldCertificate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launcher's TLS options, in this JVM. */
class StandaloneTlsTest {
    private final HeldCertificate ca = new HeldCertificate.Builder()
            .certificateAuthority(0)
            .commonName("ca")
            .build();
    private final HeldCertificate leaf = new HeldCertificate.Builder()
            .signedBy(ca)
            .commonName("localhost")
            .addSubjectAlternativeName("localhost")
            .build();

    @TempDir
    Path dir;

    private OkHttpClient client;

    private OkHttpClient client() {
        if (client != null) {
            return client;
        }
        HandshakeCertificates trust = new HandshakeCertificates.Builder()
                .addTrustedCertificate(ca.certificate())
                .build();
        client = new OkHttpClient.Builder()
                .sslSocketFactory(trust.sslSocketFactory(), trust.trustManager())
                .dns(host -> List.of(InetAddress.getLoopbackAddress()))
                .readTimeout(10, TimeUnit.SECONDS)
                .build();
        return client;
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Test
    void tlsOptions_httpsListenerWithHttp2_andAdminOverTls() throws Exception {
        Path cert = Files.writeString(dir.resolve("cert.pem"), leaf.certificatePem() + ca.certificatePem());
        Path key = Files.writeString(dir.resolve("key.pem"), leaf.privateKeyPkcs8Pem());
        int tlsPort = freePort();
        try (TestBackend backend = new TestBackend("b")) {
            Settings settings = Settings.parse(new String[] {
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--admin-port",
                "0",
                "--backend",
                "http://127.0.0.1:" + backend.port(),
                "--tls-cert",
                cert.toString(),
                "--tls-key",
                key.toString(),
                "--tls-port",
                String.valueOf(tlsPort),
                "--admin-tls"
            });
            StandaloneProxy proxy = new StandaloneProxy(settings);
            try {
                proxy.start();
                assertThat(proxy.tlsPort()).isEqualTo(tlsPort);
                try (Response r = client().newCall(new Request.Builder()
                                .url("https://localhost:" + tlsPort + "/x")
                                .build())
                        .execute()) {
                    assertThat(r.code()).isEqualTo(200);
                    assertThat(r.protocol()).isEqualTo(Protocol.HTTP_2);
                }
                TestBackend.Seen seen = backend.take();
                while (!seen.target().equals("/x")) {
                    seen = backend.take(); // active health checks reach the backend too
                }
                assertThat(seen.header("X-Forwarded-Proto")).isEqualTo("https");
                // The admin listener speaks TLS with the same certificate (what it serves is the admin API's).
                try (Response r = client().newCall(new Request.Builder()
                                .url("https://localhost:" + proxy.adminPort() + "/")
                                .build())
                        .execute()) {
                    assertThat(r.handshake()).isNotNull();
                    assertThat(r.protocol()).isEqualTo(Protocol.HTTP_1_1);
                }
                assertThat(proxy.tls().certificates())
                        .singleElement()
                        .satisfies(info -> assertThat(info.subject()).isEqualTo("CN=localhost"));
            } finally {
                client().connectionPool().evictAll();
                proxy.stop();
            }
            // Stopped with the server: the HTTPS port is free again.
            new ServerSocket(tlsPort, 1, InetAddress.getLoopbackAddress()).close();
        }
    }

    @Test
    void mismatchedKey_usageErrorNamingTheField() throws Exception {
        Path cert = Files.writeString(dir.resolve("cert.pem"), leaf.certificatePem());
        Path key = Files.writeString(
                dir.resolve("key.pem"),
                new HeldCertificate.Builder().commonName("x").build().privateKeyPkcs8Pem());
        Settings settings = Settings.parse(new String[] {
            "--port", "0", "--admin-port", "0", "--tls-cert", cert.toString(), "--tls-key", key.toString()
        });
        StandaloneProxy proxy = new StandaloneProxy(settings);
        assertThatThrownBy(proxy::start)
                .isInstanceOf(UsageException.class)
                .hasMessageStartingWith("sslKeyPath: " + key + ": the key does not belong to the certificate");
    }

    @Test
    void backendSchemes_httpsSetsUpstreamTls_mixedRefused() throws Exception {
        assertThat(Settings.parse(new String[] {"--backend", "https://10.0.0.1:443"})
                        .config
                        .upstreamTls())
                .isTrue();
        assertThat(Settings.parse(new String[] {"--backend", "http://10.0.0.1:80"})
                        .config
                        .upstreamTls())
                .isFalse();
        assertThatThrownBy(() -> Settings.parse(
                        new String[] {"--backend", "https://10.0.0.1:443", "--backend", "http://10.0.0.2:80"}))
                .hasMessage("backends: http and https mixed (expected: one scheme for all backends)");
        assertThatThrownBy(() -> Settings.parse(new String[] {"--tls-port", "70000"}))
                .hasMessage("--tls-port: '70000' (expected: 1-65535)");
        assertThatThrownBy(() -> Settings.parse(new String[] {"--tls-port", "0"}))
                .hasMessage("--tls-port: '0' (expected: 1-65535)");
        assertThatThrownBy(() -> Settings.parse(new String[] {"--config", "/nonexistent/x.yaml"}))
                .hasMessageStartingWith("--config: cannot read");
    }
}
