package dev.fairload.lb.servlet.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import okhttp3.tls.HeldCertificate;
import org.junit.jupiter.api.Test;

class PemTest {
    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder().encodeToString(der) + "\n-----END " + type
                + "-----\n";
    }

    @Test
    void privateKey_pkcs8Ec_matchesItsCertificate() {
        HeldCertificate ec = new HeldCertificate.Builder().commonName("ec").build();
        PrivateKey key = Pem.privateKey(ascii("some text\n" + ec.privateKeyPkcs8Pem()));
        assertThat(key.getAlgorithm()).isEqualTo("EC");
        assertThat(Pem.matches(key, ec.certificate().getPublicKey())).isTrue();
        HeldCertificate other =
                new HeldCertificate.Builder().commonName("other").build();
        assertThat(Pem.matches(key, other.certificate().getPublicKey())).isFalse();
    }

    @Test
    void privateKey_pkcs1Rsa_wrappedAndMatched() {
        HeldCertificate rsa =
                new HeldCertificate.Builder().rsa2048().commonName("rsa").build();
        PrivateKey pkcs1 = Pem.privateKey(ascii(rsa.privateKeyPkcs1Pem()));
        PrivateKey pkcs8 = Pem.privateKey(ascii(rsa.privateKeyPkcs8Pem()));
        assertThat(pkcs1.getEncoded()).isEqualTo(pkcs8.getEncoded());
        assertThat(Pem.matches(pkcs1, rsa.certificate().getPublicKey())).isTrue();
        HeldCertificate ec = new HeldCertificate.Builder().commonName("ec").build();
        assertThat(Pem.matches(pkcs1, ec.certificate().getPublicKey())).isFalse();
    }

    @Test
    void privateKey_sec1Ec_wrappedWithItsCurve() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair pair = generator.generateKeyPair();
        byte[] d = toFixed(((ECPrivateKey) pair.getPrivate()).getS(), 32);
        // ECPrivateKey ::= SEQUENCE { 1, OCTET STRING d, [0] prime256v1 } (RFC 5915), as `openssl ecparam -genkey`.
        byte[] prime256v1 = {0x06, 0x08, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x03, 0x01, 0x07};
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(new byte[] {0x02, 0x01, 0x01, 0x04, 0x20});
        body.writeBytes(d);
        body.write(0xa0);
        body.write(prime256v1.length);
        body.writeBytes(prime256v1);
        ByteArrayOutputStream sec1 = new ByteArrayOutputStream();
        sec1.write(0x30);
        sec1.write(body.size());
        sec1.writeBytes(body.toByteArray());
        PrivateKey key =
                Pem.privateKey(ascii(pem("EC PARAMETERS", prime256v1) + pem("EC PRIVATE KEY", sec1.toByteArray())));
        assertThat(((ECPrivateKey) key).getS()).isEqualTo(((ECPrivateKey) pair.getPrivate()).getS());
        assertThat(Pem.matches(key, pair.getPublic())).isTrue();
    }

    @Test
    void privateKey_encryptedOrMissing_refusedWithoutContent() {
        assertThatThrownBy(() -> Pem.privateKey(ascii(pem("ENCRYPTED PRIVATE KEY", new byte[] {1, 2, 3}))))
                .hasMessageStartingWith("the key is encrypted (expected: unencrypted); convert it with: openssl pkcs8");
        HeldCertificate ec = new HeldCertificate.Builder().commonName("ec").build();
        assertThatThrownBy(() -> Pem.privateKey(ascii(ec.certificatePem())))
                .hasMessage("no PEM private key block (found: [CERTIFICATE])");
        assertThatThrownBy(() -> Pem.privateKey(ascii(ec.privateKeyPkcs8Pem() + ec.privateKeyPkcs8Pem())))
                .hasMessage("2 private keys (expected: one)");
    }

    @Test
    void certificates_chainInOrder_garbageRefused() {
        HeldCertificate ca = new HeldCertificate.Builder()
                .certificateAuthority(0)
                .commonName("ca")
                .build();
        HeldCertificate leaf =
                new HeldCertificate.Builder().signedBy(ca).commonName("leaf").build();
        assertThat(Pem.certificates(ascii(leaf.certificatePem() + ca.certificatePem())))
                .extracting(c -> c.getSubjectX500Principal().getName())
                .containsExactly("CN=leaf", "CN=ca");
        assertThatThrownBy(() -> Pem.certificates(ascii(pem("CERTIFICATE", new byte[] {1, 2, 3}))))
                .hasMessageStartingWith("certificate 1 does not parse");
        assertThatThrownBy(() -> Pem.certificates(ascii("hello")))
                .hasMessage("no PEM CERTIFICATE block (the file holds no PEM blocks)");
    }

    private static byte[] toFixed(BigInteger value, int length) {
        byte[] raw = value.toByteArray();
        byte[] out = new byte[length];
        int copy = Math.min(raw.length, length);
        System.arraycopy(raw, raw.length - copy, out, length - copy, copy);
        return out;
    }
}
