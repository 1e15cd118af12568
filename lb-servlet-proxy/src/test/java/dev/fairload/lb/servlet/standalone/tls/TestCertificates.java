package dev.fairload.lb.servlet.standalone.tls;

import dev.fairload.lb.servlet.tls.CertificateInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.tls.HandshakeCertificates;
import okhttp3.tls.HeldCertificate;

/** Certificates generated for a test: one CA and leaves it signs, written as PEM files. */
final class TestCertificates {
    final HeldCertificate ca = new HeldCertificate.Builder()
            .certificateAuthority(0)
            .commonName("Fairload Test CA")
            .build();

    /** An EC P-256 leaf for {@code names}, valid 30 days. */
    HeldCertificate leaf(String... names) {
        return leaf(30, names);
    }

    HeldCertificate leaf(int days, String... names) {
        HeldCertificate.Builder b =
                new HeldCertificate.Builder().signedBy(ca).commonName(names[0]).duration(days, TimeUnit.DAYS);
        for (String n : names) {
            b.addSubjectAlternativeName(n);
        }
        return b.build();
    }

    HeldCertificate rsaLeaf(String... names) {
        HeldCertificate.Builder b =
                new HeldCertificate.Builder().signedBy(ca).commonName(names[0]).rsa2048();
        for (String n : names) {
            b.addSubjectAlternativeName(n);
        }
        return b.build();
    }

    /** A client trusting this CA only. */
    OkHttpClient.Builder client() {
        HandshakeCertificates trust = new HandshakeCertificates.Builder()
                .addTrustedCertificate(ca.certificate())
                .build();
        return new OkHttpClient.Builder()
                .sslSocketFactory(trust.sslSocketFactory(), trust.trustManager())
                .retryOnConnectionFailure(false);
    }

    /** Writes the chain (leaf, then CA) to {@code cert} and the PKCS#8 key to {@code key}, each replaced atomically. */
    static void write(HeldCertificate leaf, HeldCertificate ca, Path cert, Path key) throws IOException {
        writeAtomically(cert, leaf.certificatePem() + ca.certificatePem());
        writeAtomically(key, leaf.privateKeyPkcs8Pem());
    }

    static void writeAtomically(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.US_ASCII);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    static String sha256(X509Certificate c) {
        return CertificateInfo.of("x", c, false, java.time.Instant.now()).sha256();
    }
}
