package dev.fairload.lb.servlet.standalone;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.fairload.lb.servlet.TestBackend;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLSocket;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.tls.HandshakeCertificates;
import okhttp3.tls.HeldCertificate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The standalone proxy with TLS termination, as launched: the certificates in use in {@code GET /api/config} and as
 * the expiry gauge on {@code /metrics}, following rotation and live toggling; and the request-header deadline
 * (slowloris) on the plain listener, the HTTPS listener and an HTTPS listener reopened live. Real handshakes on
 * 127.0.0.1, certificates generated per test.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StandaloneTlsAdminTest {
    private static final String GAUGE = "fairload_tls_certificate_expiry_seconds";
    private static final int HEADER_TIMEOUT_MILLIS = 500;

    private final HeldCertificate ca = new HeldCertificate.Builder()
            .certificateAuthority(0)
            .commonName("Fairload Test CA")
            .build();
    private final HandshakeCertificates trust = new HandshakeCertificates.Builder()
            .addTrustedCertificate(ca.certificate())
            .build();
    private final OkHttpClient client = new OkHttpClient.Builder()
            .sslSocketFactory(trust.sslSocketFactory(), trust.trustManager())
            .dns(host -> List.of(InetAddress.getLoopbackAddress()))
            .retryOnConnectionFailure(false)
            .readTimeout(10, TimeUnit.SECONDS)
            .build();

    @TempDir
    Path dir;

    private TestBackend backend;
    private StandaloneProxy proxy;
    private Path cert;
    private Path key;
    private int tlsPort;

    @AfterEach
    void stop() throws Exception {
        client.connectionPool().evictAll();
        if (proxy != null) {
            proxy.stop();
        }
        if (backend != null) {
            backend.close();
        }
    }

    private HeldCertificate leaf(int days) {
        return new HeldCertificate.Builder()
                .signedBy(ca)
                .commonName("localhost")
                .addSubjectAlternativeName("localhost")
                .duration(days, TimeUnit.DAYS)
                .build();
    }

    /** Writes {@code leaf}'s chain and key over the files in use, each replaced atomically. */
    private void install(HeldCertificate leaf) throws IOException {
        replace(cert, leaf.certificatePem() + ca.certificatePem());
        replace(key, leaf.privateKeyPkcs8Pem());
    }

    private static void replace(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.US_ASCII);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Starts the launcher with TLS termination on {@code leaf} and a 500 ms request-header deadline. */
    private void start(HeldCertificate leaf) throws Exception {
        backend = new TestBackend("b");
        cert = dir.resolve("cert.pem");
        key = dir.resolve("key.pem");
        install(leaf);
        tlsPort = freePort();
        Path yaml = Files.writeString(
                dir.resolve("proxy.yaml"),
                String.join(
                        "\n",
                        "sslTermination: true",
                        "sslPort: " + tlsPort,
                        "sslCertPath: " + cert,
                        "sslKeyPath: " + key,
                        "requestHeaderTimeoutMillis: " + HEADER_TIMEOUT_MILLIS,
                        ""));
        proxy = new StandaloneProxy(Settings.parse(new String[] {
            "--config", yaml.toString(),
            "--host", "127.0.0.1",
            "--port", "0",
            "--admin-port", "0",
            "--backend", "http://127.0.0.1:" + backend.port()
        }));
        proxy.start();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    // Admin API and metrics ----------------------------------------------------------------------------------------

    private record Answer(int code, String text) {
        Map<String, Object> json() throws IOException {
            return JSON.std.mapFrom(text);
        }

        @SuppressWarnings("unchecked")
        Map<String, Object> data() throws IOException {
            return (Map<String, Object>) json().get("data");
        }

        @SuppressWarnings("unchecked")
        List<Map<String, Object>> certificates() throws IOException {
            return (List<Map<String, Object>>) data().get("tlsCertificates");
        }
    }

    private Answer admin(String method, String path, String body) throws IOException {
        Request.Builder b = new Request.Builder().url("http://127.0.0.1:" + proxy.adminPort() + path);
        if (body != null) {
            b.method(method, RequestBody.create(body, MediaType.get("application/json")));
        }
        try (Response r = client.newCall(b.build()).execute()) {
            return new Answer(r.code(), r.body().string());
        }
    }

    private static String sha256(HeldCertificate c) throws Exception {
        return java.util.HexFormat.of()
                .formatHex(java.security.MessageDigest.getInstance("SHA-256")
                        .digest(c.certificate().getEncoded()));
    }

    /** The gauge's value for {@code sha256}, or null when /metrics does not show it. */
    private Double gauge(String sha256) throws IOException {
        Answer metrics = admin("GET", "/metrics", null);
        assertThat(metrics.code()).isEqualTo(200);
        Matcher m = Pattern.compile("(?m)^" + GAUGE + "\\{name=\"default\",sha256=\"" + sha256 + "\"} (\\S+)$")
                .matcher(metrics.text());
        return m.find() ? Double.valueOf(m.group(1)) : null;
    }

    private static void assertPublicFactsOnly(Map<String, Object> info, HeldCertificate leaf) {
        assertThat(info)
                .containsOnlyKeys(
                        "name",
                        "subject",
                        "subjectAlternativeNames",
                        "issuer",
                        "notBefore",
                        "notAfter",
                        "daysLeft",
                        "expiresSoon",
                        "sha256",
                        "default")
                .containsEntry("name", "default")
                .containsEntry("subject", "CN=localhost")
                .containsEntry("subjectAlternativeNames", List.of("localhost"))
                .containsEntry("issuer", "CN=Fairload Test CA")
                .containsEntry("default", true)
                .containsEntry(
                        "notAfter", leaf.certificate().getNotAfter().toInstant().toString());
    }

    @Test
    void config_showsCertificatesInUse_followsRotationAndToggle_expiryGauge_readOnly() throws Exception {
        HeldCertificate first = leaf(30);
        start(first);

        Answer config = admin("GET", "/api/config", null);
        assertThat(config.code()).isEqualTo(200);
        assertThat(config.certificates()).singleElement().satisfies(info -> {
            assertPublicFactsOnly(info, first);
            assertThat(info.get("sha256")).isEqualTo(sha256(first));
            assertThat(((Number) info.get("daysLeft")).longValue()).isBetween(29L, 30L);
            assertThat(info).containsEntry("expiresSoon", false);
        });
        for (String line : first.privateKeyPkcs8Pem().split("\n")) {
            assertThat(config.text()).doesNotContain(line);
        }
        assertThat(gauge(sha256(first))).isBetween(30 * 86_400.0 - 300, 30 * 86_400.0); // seconds until notAfter

        // Rotation on disk: the next scan (every 5 s) puts the new certificate in force, and the API shows it.
        HeldCertificate soon = leaf(5);
        install(soon);
        await().atMost(Duration.ofSeconds(20))
                .until(() -> sha256(soon)
                        .equals(admin("GET", "/api/config", null)
                                .certificates()
                                .get(0)
                                .get("sha256")));
        assertThat(admin("GET", "/api/config", null).certificates())
                .singleElement()
                .satisfies(info -> {
                    assertPublicFactsOnly(info, soon);
                    assertThat(((Number) info.get("daysLeft")).longValue()).isBetween(4L, 5L);
                    assertThat(info).containsEntry("expiresSoon", true);
                });
        assertThat(gauge(sha256(soon))).isBetween(5 * 86_400.0 - 300, 5 * 86_400.0);
        assertThat(gauge(sha256(first)))
                .as("the replaced certificate's gauge is gone")
                .isNull();

        // Turned off live: no certificate in use, no gauge, the HTTPS listener closed.
        Answer off = admin("PUT", "/api/config", "{\"sslTermination\":false}");
        assertThat(off.code()).as(off.text()).isEqualTo(200);
        assertThat(off.certificates()).isEmpty();
        assertThat(admin("GET", "/api/config", null).certificates()).isEmpty();
        assertThat(admin("GET", "/metrics", null).text()).doesNotContain(GAUGE + "{");
        assertThat(proxy.tlsPort()).isEqualTo(-1);

        // And on again: the certificate on disk is shown in the PUT's answer.
        Answer on = admin("PUT", "/api/config", "{\"sslTermination\":true}");
        assertThat(on.code()).as(on.text()).isEqualTo(200);
        assertThat(on.certificates())
                .singleElement()
                .satisfies(info -> assertThat(info.get("sha256")).isEqualTo(sha256(soon)));
        assertThat(gauge(sha256(soon))).isNotNull();
        try (Response r = client.newCall(new Request.Builder()
                        .url("https://localhost:" + tlsPort + "/x")
                        .build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
            assertThat(r.protocol()).isEqualTo(Protocol.HTTP_2);
        }

        // Read-only: a PUT carrying it (a configuration read and sent back) applies the other fields and ignores it.
        Object certificatesBefore = admin("GET", "/api/config", null).data().get("tlsCertificates");
        assertThat((List<?>) certificatesBefore).isNotEmpty();
        Answer put = admin("PUT", "/api/config", "{\"maxRetries\":0,\"tlsCertificates\":[]}");
        assertThat(put.code()).as(put.text()).isEqualTo(200);
        Map<String, Object> after = admin("GET", "/api/config", null).data();
        assertThat(after).containsEntry("maxRetries", 0);
        assertThat(after.get("tlsCertificates")).isEqualTo(certificatesBefore);
    }

    // Request-header deadline (slowloris) ------------------------------------------------------------------------

    /**
     * Sends {@code request} one byte at a time, a byte every 100 ms (far inside the 30 s idle timeout, which every
     * byte resets), until the server closes the connection; returns how long after connecting that was, or fails
     * after 10 s.
     */
    private static long trickleUntilClosed(Socket socket, long connectedAt, String request) throws IOException {
        byte[] bytes = request.getBytes(StandardCharsets.US_ASCII);
        socket.setSoTimeout(100);
        InputStream in = socket.getInputStream();
        OutputStream out = socket.getOutputStream();
        int sent = 0;
        while (System.nanoTime() - connectedAt < TimeUnit.SECONDS.toNanos(10)) {
            try {
                if (in.read() == -1) {
                    break;
                }
            } catch (SocketTimeoutException stillOpen) {
                try {
                    out.write(bytes[sent++ % bytes.length]);
                    out.flush();
                } catch (IOException closed) {
                    break;
                }
                continue;
            } catch (IOException closed) {
                break; // reset, or TLS closed without close_notify
            }
        }
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - connectedAt);
    }

    private static void assertClosedAtDeadline(long elapsedMillis) {
        // Never before the deadline; well within it plus a margin for a loaded machine.
        assertThat(elapsedMillis).isBetween((long) HEADER_TIMEOUT_MILLIS, HEADER_TIMEOUT_MILLIS + 3_000L);
    }

    /** A TLS client that completes the handshake, then trickles an endless request line. */
    private void assertTlsSlowlorisClosed(int port) throws IOException {
        long connectedAt = System.nanoTime();
        try (SSLSocket socket = (SSLSocket) trust.sslSocketFactory().createSocket("127.0.0.1", port)) {
            socket.setSoTimeout(5_000);
            socket.startHandshake();
            assertThat(socket.getSession().getProtocol()).isEqualTo("TLSv1.3");
            assertClosedAtDeadline(trickleUntilClosed(socket, connectedAt, "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
        }
    }

    @Test
    void slowloris_plainAndTlsListeners_closedAtRequestHeaderDeadline_alsoAfterLiveReopen() throws Exception {
        start(leaf(30));

        // Plain listener: a request line and headers trickled, never finished.
        long connectedAt = System.nanoTime();
        try (Socket socket = new Socket("127.0.0.1", proxy.port())) {
            assertClosedAtDeadline(
                    trickleUntilClosed(socket, connectedAt, "GET / HTTP/1.1\r\nHost: x\r\nX-A: aaaaaaaaaaaaaaaaaaaa"));
        }

        // HTTPS listener: the handshake completes, then the request line is trickled.
        assertTlsSlowlorisClosed(tlsPort);

        // HTTPS listener: a client that never finishes the handshake is closed at the same deadline.
        connectedAt = System.nanoTime();
        try (Socket socket = new Socket("127.0.0.1", tlsPort)) {
            // A TLS record header announcing a ClientHello whose body never comes.
            assertClosedAtDeadline(trickleUntilClosed(socket, connectedAt, "\u0016\u0003\u0001\u0002\u0000\u0001"));
        }

        // A client that sends its request in time is answered over both protocols.
        try (Response r = client.newCall(new Request.Builder()
                        .url("https://localhost:" + tlsPort + "/ok")
                        .build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
        }

        // The listener reopened live (TLS off, then on at another port) has the deadline too.
        assertThat(admin("PUT", "/api/config", "{\"sslTermination\":false}").code())
                .isEqualTo(200);
        int newPort = freePort();
        Answer on = admin("PUT", "/api/config", "{\"sslTermination\":true,\"sslPort\":" + newPort + "}");
        assertThat(on.code()).as(on.text()).isEqualTo(200);
        assertThat(proxy.tlsPort()).isEqualTo(newPort);
        assertTlsSlowlorisClosed(newPort);
        try (Response r = client.newCall(new Request.Builder()
                        .url("https://localhost:" + newPort + "/ok")
                        .build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
        }
        await().atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(connectRefused(tlsPort)).isTrue());
    }

    private static boolean connectRefused(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return false;
        } catch (ConnectException e) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
