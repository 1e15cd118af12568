package dev.fairload.lb.servlet.standalone.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS 1.0 and 1.1 and TLS 1.2 without AEAD are refused by the proxy's own settings, not merely by the JDK's
 * defaults, and of every TLS 1.2 suite the JVM supports only ECDHE with AEAD is accepted: {@link LegacyTlsProbe} runs in a child JVM with the JDK's protocol ban lifted, shows that a plain JDK
 * server there does complete TLS 1.0/1.1 handshakes, and then that the proxy refuses them.
 */
class LegacyProtocolsTest {
    @Test
    void oldProtocolsAndCbcSuites_refusedByTheProxy(@TempDir Path dir) throws Exception {
        TestCertificates certs = new TestCertificates();
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        TestCertificates.write(certs.leaf("localhost"), certs.ca, cert, key);
        Path out = dir.resolve("probe.log");
        Process p = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-cp",
                        System.getProperty("java.class.path"),
                        LegacyTlsProbe.class.getName(),
                        cert.toString(),
                        key.toString())
                .redirectErrorStream(true)
                .redirectOutput(out.toFile())
                .start();
        try {
            assertThat(p.waitFor(90, TimeUnit.SECONDS)).as("probe finished").isTrue();
        } finally {
            p.destroyForcibly();
        }
        List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
        assertThat(lines)
                .as(String.join("\n", lines))
                .contains(
                        "control TLSv1 *: ok TLSv1",
                        "control TLSv1.1 *: ok TLSv1.1",
                        "proxy TLSv1.2 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: ok TLSv1.2",
                        "proxy TLSv1.3 *: ok TLSv1.3")
                .anyMatch(l -> l.startsWith("proxy TLSv1 *: refused"))
                .anyMatch(l -> l.startsWith("proxy TLSv1.1 *: refused"))
                .anyMatch(l -> l.startsWith("proxy TLSv1.2 TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: refused"))
                .anyMatch(l -> l.startsWith("proxy TLSv1.2 TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: refused"));

        // Of every TLS 1.2 suite the client offered alone, the proxy accepts only ephemeral key exchange with AEAD
        // (no RSA key exchange, CBC, 3DES, RC4, NULL or anonymous suites).
        List<String> suites =
                lines.stream().filter(l -> l.startsWith("suite12 ")).toList();
        assertThat(suites).as("TLS 1.2 suites tried").hasSizeGreaterThan(20);
        List<String> accepted = suites.stream()
                .filter(l -> l.contains(": ok "))
                .map(l -> l.split(" ")[2].replace(":", ""))
                .toList();
        assertThat(accepted)
                .as("accepted TLS 1.2 suites")
                .isNotEmpty()
                .allSatisfy(
                        suite -> assertThat(suite)
                                .matches(
                                        "TLS_ECDHE_(ECDSA|RSA)_WITH_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)"));
    }
}
