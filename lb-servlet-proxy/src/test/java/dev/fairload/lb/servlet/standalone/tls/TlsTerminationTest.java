package dev.fairload.lb.servlet.standalone.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fairload.lb.servlet.ProxyConfig;
import dev.fairload.lb.servlet.TestBackend;
import dev.fairload.lb.servlet.tls.CertificateInfo;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLHandshakeException;
import okhttp3.ConnectionPool;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.tls.HeldCertificate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TLS termination with real handshakes on loopback and certificates generated per test. */
class TlsTerminationTest {
    private final TestCertificates certs = new TestCertificates();
    private TlsProxy proxy;

    @TempDir
    Path dir;

    @AfterEach
    void stop() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
    }

    private ProxyConfig.Builder tlsConfig(Path cert, Path key) throws IOException {
        return ProxyConfig.builder()
                .sslTermination(true)
                .sslPort(TlsProxy.freePort())
                .sslCertPath(cert.toString())
                .sslKeyPath(key == null ? null : key.toString());
    }

    private Path[] writePair(HeldCertificate leaf) throws IOException {
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        TestCertificates.write(leaf, certs.ca, cert, key);
        return new Path[] {cert, key};
    }

    /** A client whose every host name resolves to loopback, so SNI names can be chosen freely. */
    private OkHttpClient client() {
        return certs.client()
                .dns(host -> List.of(InetAddress.getLoopbackAddress()))
                .connectionPool(new ConnectionPool())
                .build();
    }

    private static X509Certificate peer(Response response) {
        return (X509Certificate) response.handshake().peerCertificates().get(0);
    }

    private static String serverName(X509Certificate c) {
        return c.getSubjectX500Principal().getName();
    }

    @Test
    void handshake_trustedClient_http2AndHttp11_forwardedProtoHttps() throws Exception {
        HeldCertificate leaf = certs.leaf("localhost", "127.0.0.1");
        Path[] pair = writePair(leaf);
        proxy = new TlsProxy(tlsConfig(pair[0], pair[1]).build());

        OkHttpClient h2 = client();
        try (Response r = h2.newCall(new Request.Builder()
                        .url(proxy.https("localhost", "/hello"))
                        .build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
            assertThat(r.protocol()).isEqualTo(Protocol.HTTP_2);
            assertThat(r.handshake().tlsVersion().javaName()).isEqualTo("TLSv1.3");
            assertThat(TestCertificates.sha256(peer(r))).isEqualTo(TestCertificates.sha256(leaf.certificate()));
        }
        TestBackend.Seen seen = proxy.backend.take();
        assertThat(seen.header("X-Forwarded-Proto")).isEqualTo("https");

        OkHttpClient h1 = client().newBuilder()
                .protocols(List.of(Protocol.HTTP_1_1))
                .connectionSpecs(List.of(new okhttp3.ConnectionSpec.Builder(okhttp3.ConnectionSpec.RESTRICTED_TLS)
                        .tlsVersions(okhttp3.TlsVersion.TLS_1_2)
                        .build()))
                .build();
        try (Response r = h1.newCall(
                        new Request.Builder().url(proxy.https("localhost", "/")).build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
            assertThat(r.protocol()).isEqualTo(Protocol.HTTP_1_1);
            assertThat(r.handshake().tlsVersion().javaName()).isEqualTo("TLSv1.2");
            assertThat(r.handshake().cipherSuite().javaName())
                    .startsWith("TLS_ECDHE_ECDSA_WITH_")
                    .contains("GCM");
        }
        assertThat(proxy.backend.take().header("X-Forwarded-Proto")).isEqualTo("https");

        // The plain listener is still plain.
        try (Response r = client().newCall(new Request.Builder()
                        .url("http://127.0.0.1:" + proxy.port + "/")
                        .build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
        }
        assertThat(proxy.backend.take().header("X-Forwarded-Proto")).isEqualTo("http");

        assertThat(proxy.tls.certificates()).singleElement().satisfies(info -> {
            assertThat(info.subject()).isEqualTo("CN=localhost");
            assertThat(info.subjectAlternativeNames()).containsExactly("localhost", "127.0.0.1");
            assertThat(info.daysLeft()).isBetween(29L, 30L);
            assertThat(info.expiresSoon()).isFalse();
            assertThat(info.isDefault()).isTrue();
        });
    }

    @Test
    void handshake_untrustedClient_refused() throws Exception {
        Path[] pair = writePair(certs.leaf("localhost"));
        proxy = new TlsProxy(tlsConfig(pair[0], pair[1]).build());
        OkHttpClient stranger = new TestCertificates().client().build();
        assertThatThrownBy(() -> stranger.newCall(new Request.Builder()
                                .url(proxy.https("localhost", "/"))
                                .build())
                        .execute())
                .isInstanceOf(SSLHandshakeException.class);
    }

    @Test
    void sni_picksCertificateByName_defaultWithoutMatch() throws Exception {
        Path certDir = Files.createDirectory(dir.resolve("certs"));
        HeldCertificate a = certs.leaf("a.test");
        HeldCertificate b = certs.leaf("b.test", "*.b.test");
        HeldCertificate fallback = certs.rsaLeaf("default.test");
        TestCertificates.write(a, certs.ca, certDir.resolve("a.crt"), certDir.resolve("a.key"));
        TestCertificates.write(b, certs.ca, certDir.resolve("b.pem"), certDir.resolve("b.key"));
        TestCertificates.write(fallback, certs.ca, certDir.resolve("default.crt"), certDir.resolve("default.key"));
        proxy = new TlsProxy(tlsConfig(certDir, null).build());

        OkHttpClient client = client();
        for (var expected : Map.of("a.test", a, "b.test", b, "www.b.test", b).entrySet()) {
            try (Response r = client.newCall(new Request.Builder()
                            .url(proxy.https(expected.getKey(), "/"))
                            .build())
                    .execute()) {
                assertThat(serverName(peer(r)))
                        .isEqualTo(serverName(expected.getValue().certificate()));
            }
        }
        // No name matches: the default certificate (which the client then rejects for the wrong name).
        OkHttpClient lenient =
                client.newBuilder().hostnameVerifier((host, session) -> true).build();
        try (Response r = lenient.newCall(new Request.Builder()
                        .url(proxy.https("other.test", "/"))
                        .build())
                .execute()) {
            assertThat(serverName(peer(r))).isEqualTo("CN=default.test");
        }
        assertThat(proxy.tls.certificates())
                .extracting(CertificateInfo::name, CertificateInfo::isDefault)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple("default", true),
                        org.assertj.core.groups.Tuple.tuple("a", false),
                        org.assertj.core.groups.Tuple.tuple("b", false));
    }

    @Test
    void rotation_keepAliveConnectionKeepsWorking_newHandshakeSeesNewCertificate() throws Exception {
        HeldCertificate first = certs.leaf("localhost");
        Path[] pair = writePair(first);
        proxy = new TlsProxy(tlsConfig(pair[0], pair[1]).build());
        OkHttpClient kept = client();
        try (Response r = kept.newCall(
                        new Request.Builder().url(proxy.https("localhost", "/")).build())
                .execute()) {
            assertThat(TestCertificates.sha256(peer(r))).isEqualTo(TestCertificates.sha256(first.certificate()));
        }

        HeldCertificate second = certs.leaf("localhost");
        TestCertificates.write(second, certs.ca, pair[0], pair[1]);

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            try (Response r = client().newCall(new Request.Builder()
                            .url(proxy.https("localhost", "/"))
                            .build())
                    .execute()) {
                assertThat(TestCertificates.sha256(peer(r))).isEqualTo(TestCertificates.sha256(second.certificate()));
            }
        });
        // The connection opened before the rotation still works, on its original handshake.
        try (Response r = kept.newCall(
                        new Request.Builder().url(proxy.https("localhost", "/")).build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
            assertThat(TestCertificates.sha256(peer(r))).isEqualTo(TestCertificates.sha256(first.certificate()));
        }
        assertThat(kept.connectionPool().connectionCount()).isEqualTo(1);
        assertThat(proxy.tls.certificates().get(0).sha256()).isEqualTo(TestCertificates.sha256(second.certificate()));
    }

    @Test
    void rotation_brokenPair_keepsServingOld_logsWithoutKeyMaterial() throws Exception {
        HeldCertificate first = certs.leaf("localhost");
        Path[] pair = writePair(first);
        PrintStream originalErr = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        HeldCertificate other = certs.leaf("localhost");
        try {
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            proxy = new TlsProxy(tlsConfig(pair[0], pair[1]).build());
            // A new certificate with the old key: mismatched.
            TestCertificates.writeAtomically(pair[0], other.certificatePem());
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> captured.toString(StandardCharsets.UTF_8).contains("not usable"));
            // Then a key that is not a key at all.
            TestCertificates.writeAtomically(pair[1], "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> captured.toString(StandardCharsets.UTF_8).contains("does not parse"));
        } finally {
            System.setErr(originalErr);
        }
        String log = captured.toString(StandardCharsets.UTF_8);
        assertThat(log)
                .contains("sslKeyPath: " + pair[1] + ": the key does not belong to the certificate CN=localhost")
                .contains("the previous certificates keep serving");
        for (String secret : List.of(first.privateKeyPkcs8Pem(), other.privateKeyPkcs8Pem())) {
            for (String line : secret.split("\n")) {
                if (!line.startsWith("-----")) {
                    assertThat(log).doesNotContain(line);
                }
            }
        }
        assertThat(log).doesNotContain("BEGIN PRIVATE KEY");
        try (Response r = client().newCall(
                        new Request.Builder().url(proxy.https("localhost", "/")).build())
                .execute()) {
            assertThat(TestCertificates.sha256(peer(r))).isEqualTo(TestCertificates.sha256(first.certificate()));
        }
    }

    @Test
    void liveConfig_turnOnAndOff_changePaths_refuseBadPairNamingField() throws Exception {
        HeldCertificate first = certs.leaf("localhost");
        Path[] pair = writePair(first);
        ProxyConfig off = ProxyConfig.builder().sslPort(TlsProxy.freePort()).build();
        proxy = new TlsProxy(off);
        assertThat(proxy.tls.port()).isEqualTo(-1);
        assertThat(proxy.tls.certificates()).isEmpty();

        // On, through the runtime as PUT /api/config does.
        proxy.runtime.update(
                Map.of("sslTermination", true, "sslCertPath", pair[0].toString(), "sslKeyPath", pair[1].toString()));
        assertThat(proxy.tls.port()).isEqualTo(off.sslPort());
        OkHttpClient client = client();
        try (Response r = client.newCall(
                        new Request.Builder().url(proxy.https("localhost", "/")).build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
        }

        // A mismatched pair is refused as a whole; nothing changes.
        Path otherKey = dir.resolve("other.key");
        Files.writeString(otherKey, certs.leaf("localhost").privateKeyPkcs8Pem());
        ProxyConfig before = proxy.runtime.config();
        assertThatThrownBy(() -> proxy.runtime.update(Map.of("sslKeyPath", otherKey.toString())))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("sslKeyPath: " + otherKey + ": the key does not belong");
        assertThatThrownBy(() -> proxy.tls.validate(before.toBuilder()
                        .sslCertPath(dir.resolve("missing.pem").toString())
                        .build()))
                .hasMessageStartingWith("sslCertPath: cannot read");
        assertThat(proxy.runtime.config()).isEqualTo(before);

        // New paths with a valid pair: loaded and used by new handshakes.
        HeldCertificate second = certs.rsaLeaf("localhost");
        Path cert2 = dir.resolve("second.pem");
        Files.writeString(cert2, second.certificatePem() + certs.ca.certificatePem() + second.privateKeyPkcs1Pem());
        Map<String, Object> combined = new java.util.HashMap<>();
        combined.put("sslCertPath", cert2.toString());
        combined.put("sslKeyPath", null);
        proxy.runtime.update(combined);
        try (Response r = client().newCall(
                        new Request.Builder().url(proxy.https("localhost", "/")).build())
                .execute()) {
            assertThat(TestCertificates.sha256(peer(r))).isEqualTo(TestCertificates.sha256(second.certificate()));
        }

        // Another port: the new listener opens, the old one closes.
        int oldPort = proxy.tls.port();
        int newPort = TlsProxy.freePort();
        proxy.runtime.update(Map.of("sslPort", newPort));
        assertThat(proxy.tls.port()).isEqualTo(newPort);
        assertClosed(oldPort);

        // Off: the HTTPS listener closes, the plain one keeps serving.
        proxy.runtime.update(Map.of("sslTermination", false));
        assertThat(proxy.tls.port()).isEqualTo(-1);
        assertThat(proxy.tls.certificates()).isEmpty();
        assertClosed(newPort);
        try (Response r = client.newCall(new Request.Builder()
                        .url("http://127.0.0.1:" + proxy.port + "/")
                        .build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
        }
    }

    private static void assertClosed(int port) {
        await().atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThatThrownBy(() -> new java.net.Socket("127.0.0.1", port).close())
                        .isInstanceOf(java.net.ConnectException.class));
    }

    @Test
    void liveConfig_portInUse_refusedNamingSslPort() throws Exception {
        Path[] pair = writePair(certs.leaf("localhost"));
        proxy = new TlsProxy(ProxyConfig.builder()
                .sslCertPath(pair[0].toString())
                .sslKeyPath(pair[1].toString())
                .build());
        try (java.net.ServerSocket busy = new java.net.ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            assertThatThrownBy(
                            () -> proxy.runtime.update(Map.of("sslTermination", true, "sslPort", busy.getLocalPort())))
                    .hasMessageStartingWith("sslPort: " + busy.getLocalPort() + " (expected: a free port");
        }
        assertThat(proxy.runtime.config().sslTermination()).isFalse();
    }

    @Test
    void httpsRedirect_plainRequestGets308ToHttps() throws Exception {
        Path[] pair = writePair(certs.leaf("localhost"));
        proxy = new TlsProxy(tlsConfig(pair[0], pair[1]).httpsRedirect(true).build());
        OkHttpClient client = client().newBuilder().followRedirects(false).build();
        try (Response r = client.newCall(new Request.Builder()
                        .url("http://localhost:" + proxy.port + "/a/b?c=d")
                        .build())
                .execute()) {
            assertThat(r.code()).isEqualTo(308);
            assertThat(r.header("Location")).isEqualTo("https://localhost:" + proxy.tls.port() + "/a/b?c=d");
        }
        OkHttpClient following = client();
        try (Response r = following
                .newCall(new Request.Builder()
                        .url("http://localhost:" + proxy.port + "/x")
                        .build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
            assertThat(r.request().url().isHttps()).isTrue();
        }
        assertThat(proxy.backend.hits.get()).isEqualTo(1);

        proxy.runtime.update(Map.of("httpsRedirect", false));
        try (Response r = client.newCall(new Request.Builder()
                        .url("http://localhost:" + proxy.port + "/")
                        .build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
        }
    }

    @Test
    void pkcs12Keystore_withPasswordFile() throws Exception {
        HeldCertificate leaf = certs.leaf("localhost");
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("site", leaf.keyPair().getPrivate(), "s3cret".toCharArray(), new Certificate[] {
            leaf.certificate(), certs.ca.certificate()
        });
        Path p12 = dir.resolve("site.p12");
        try (var out = Files.newOutputStream(p12)) {
            store.store(out, "s3cret".toCharArray());
        }
        Path password = dir.resolve("password.txt");
        Files.writeString(password, "wrong\n");
        assertThatThrownBy(() -> new TlsProxy(tlsConfig(p12, password).build()))
                .hasMessage("sslKeyPath: " + password + ": wrong password for the PKCS#12 keystore " + p12);
        Files.writeString(password, "s3cret\n");
        proxy = new TlsProxy(tlsConfig(p12, password).build());
        try (Response r = client().newCall(
                        new Request.Builder().url(proxy.https("localhost", "/")).build())
                .execute()) {
            assertThat(TestCertificates.sha256(peer(r))).isEqualTo(TestCertificates.sha256(leaf.certificate()));
        }
        assertThat(proxy.tls.certificates()).extracting(CertificateInfo::name).containsExactly("site");
    }

    @Test
    void expiry_underFourteenDays_flaggedAndWarned() throws Exception {
        Path[] pair = writePair(certs.leaf(5, "localhost"));
        PrintStream originalErr = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try {
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            proxy = new TlsProxy(tlsConfig(pair[0], pair[1]).build());
        } finally {
            System.setErr(originalErr);
        }
        CertificateInfo info = proxy.tls.certificates().get(0);
        assertThat(info.daysLeft()).isBetween(4L, 5L);
        assertThat(info.expiresSoon()).isTrue();
        assertThat(info.toMap()).containsEntry("expiresSoon", true).doesNotContainKey("key");
        assertThat(captured.toString(StandardCharsets.UTF_8))
                .contains("WARN")
                .contains("TLS certificate default (CN=localhost) expires in " + info.daysLeft() + " days");
    }

    @Test
    void expiry_warnedOncePerLoadOrRotation_notPerScanRequestOrRead() throws Exception {
        HeldCertificate soon = certs.leaf(5, "localhost");
        Path[] pair = writePair(soon);
        String warning = "TLS certificate default (CN=localhost) expires in ";
        PrintStream originalErr = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try {
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            proxy = new TlsProxy(tlsConfig(pair[0], pair[1]).build());
            assertThat(count(captured, warning)).as("warned at load").isEqualTo(1);

            // Scans run every 50 ms and find the same files: about ten of them in this half second, none warning.
            await().during(Duration.ofMillis(500))
                    .atMost(Duration.ofSeconds(2))
                    .until(() -> count(captured, warning) == 1);
            // (The scanner is alive: a pair out of step is refused at once, with an ERROR and no warning.)
            TestCertificates.writeAtomically(pair[0], certs.leaf(5, "localhost").certificatePem());
            await().atMost(Duration.ofSeconds(10)).until(() -> count(captured, "not usable") == 1);
            TestCertificates.write(soon, certs.ca, pair[0], pair[1]);

            // Handshakes, requests and reads of the list do not warn either.
            OkHttpClient client = client();
            for (int i = 0; i < 3; i++) {
                try (Response r = client.newCall(new Request.Builder()
                                .url(proxy.https("localhost", "/"))
                                .build())
                        .execute()) {
                    assertThat(r.code()).isEqualTo(200);
                }
                client.connectionPool().evictAll();
                assertThat(proxy.tls.certificates().get(0).expiresSoon()).isTrue();
            }
            // A configuration change that keeps the certificates is not a load.
            proxy.runtime.update(Map.of("maxRetries", 1));
            assertThat(count(captured, warning))
                    .as("no warning per scan, request or read")
                    .isEqualTo(1);

            // A rotation to another certificate that expires soon is a load: one more warning.
            HeldCertificate next = certs.leaf(5, "localhost");
            TestCertificates.write(next, certs.ca, pair[0], pair[1]);
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> proxy.tls
                            .certificates()
                            .get(0)
                            .sha256()
                            .equals(TestCertificates.sha256(next.certificate())));
            await().atMost(Duration.ofSeconds(5)).until(() -> count(captured, warning) == 2);
        } finally {
            System.setErr(originalErr);
        }
        assertThat(count(captured, warning)).isEqualTo(2);
        assertThat(captured.toString(StandardCharsets.UTF_8)).contains("WARN");
    }

    private static int count(ByteArrayOutputStream log, String text) {
        String s = log.toString(StandardCharsets.UTF_8);
        int n = 0;
        for (int i = s.indexOf(text); i >= 0; i = s.indexOf(text, i + 1)) {
            n++;
        }
        return n;
    }

    /** The proxy's sticky cookie is marked Secure when the client came over TLS, and only then. */
    @Test
    void stickyCookie_secureOverHttpsOnly() throws Exception {
        HeldCertificate leaf = certs.leaf("localhost", "127.0.0.1");
        Path[] pair = writePair(leaf);
        proxy = new TlsProxy(tlsConfig(pair[0], pair[1])
                .sessionPersistence(true)
                .stickyCookie(true)
                .build());
        String overTls;
        try (Response r = client().newCall(
                        new Request.Builder().url(proxy.https("localhost", "/")).build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
            overTls = r.header("Set-Cookie");
        }
        String plain;
        try (Response r = client().newCall(new Request.Builder()
                        .url("http://127.0.0.1:" + proxy.port + "/")
                        .build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
            plain = r.header("Set-Cookie");
        }
        String name = ProxyConfig.defaults().stickyCookieName() + "=";
        assertThat(overTls).startsWith(name).contains("; HttpOnly").endsWith("; Secure");
        assertThat(plain).startsWith(name).contains("; HttpOnly").doesNotContain("Secure");
    }
}
