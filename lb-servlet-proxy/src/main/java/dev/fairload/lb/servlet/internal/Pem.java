package dev.fairload.lb.servlet.internal;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads PEM certificates and private keys with the JDK alone.
 *
 * <p>Keys: PKCS#8 ({@code BEGIN PRIVATE KEY}: RSA, RSASSA-PSS, EC, Ed25519, Ed448), PKCS#1 RSA ({@code BEGIN RSA
 * PRIVATE KEY}) and SEC1 EC ({@code BEGIN EC PRIVATE KEY}); the last two are wrapped in a PKCS#8 structure (RFC 5208)
 * so the JDK's {@link KeyFactory} can read them. Encrypted keys are refused.
 *
 * <p>Secrets: messages name the PEM block types found, never their content; callers add the file name.
 */
public final class Pem {
    private static final Pattern BLOCK =
            Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]*?)-----END \\1-----", Pattern.DOTALL);
    private static final String CONVERT = "convert it with: openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8";
    private static final byte[] RSA_ALGORITHM = hex("300d06092a864886f70d0101010500");
    private static final byte[] EC_PUBLIC_KEY_OID = hex("06072a8648ce3d0201");

    private Pem() {}

    /** One PEM block: its type ({@code CERTIFICATE}, {@code PRIVATE KEY}, ...) and decoded bytes. */
    public record Block(String type, byte[] der) {
        @Override
        public String toString() {
            return type; // never the content
        }
    }

    /** The PEM blocks of {@code text}, in order; text outside blocks is ignored. */
    public static List<Block> blocks(byte[] text) {
        String s = new String(text, StandardCharsets.US_ASCII);
        List<Block> out = new ArrayList<>();
        Matcher m = BLOCK.matcher(s);
        while (m.find()) {
            byte[] der;
            try {
                der = Base64.getMimeDecoder().decode(m.group(2));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("a " + m.group(1) + " block is not valid base64");
            }
            out.add(new Block(m.group(1), der));
        }
        return out;
    }

    /**
     * The certificates of a PEM file, in file order.
     *
     * @throws IllegalArgumentException if there is none or one does not parse
     */
    public static List<X509Certificate> certificates(byte[] text) {
        List<X509Certificate> out = new ArrayList<>();
        CertificateFactory factory;
        try {
            factory = CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException(e);
        }
        for (Block b : blocks(text)) {
            if (b.type().equals("CERTIFICATE") || b.type().equals("TRUSTED CERTIFICATE")) {
                try {
                    out.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(b.der())));
                } catch (CertificateException e) {
                    throw new IllegalArgumentException("certificate " + (out.size() + 1) + " does not parse ("
                            + e.getClass().getSimpleName() + ")");
                }
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("no PEM CERTIFICATE block" + found(text));
        }
        return out;
    }

    /**
     * The one private key of a PEM file.
     *
     * @throws IllegalArgumentException if there is none, several, an encrypted one or one that does not parse
     */
    public static PrivateKey privateKey(byte[] text) {
        List<Block> keys = new ArrayList<>();
        for (Block b : blocks(text)) {
            if (b.type().endsWith("PRIVATE KEY")) {
                keys.add(b);
            }
        }
        if (keys.isEmpty()) {
            throw new IllegalArgumentException("no PEM private key block" + found(text));
        }
        if (keys.size() > 1) {
            throw new IllegalArgumentException(keys.size() + " private keys (expected: one)");
        }
        Block key = keys.get(0);
        switch (key.type()) {
            case "PRIVATE KEY":
                return pkcs8(key.der(), "RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS");
            case "RSA PRIVATE KEY":
                return pkcs8(sequence(integer0(), RSA_ALGORITHM, octetString(key.der())), "RSA");
            case "EC PRIVATE KEY":
                byte[] curve = sec1Curve(key.der());
                byte[] algorithm = sequence(EC_PUBLIC_KEY_OID, curve);
                return pkcs8(sequence(integer0(), algorithm, octetString(key.der())), "EC");
            case "ENCRYPTED PRIVATE KEY":
                throw new IllegalArgumentException("the key is encrypted (expected: unencrypted); " + CONVERT);
            default:
                throw new IllegalArgumentException("unsupported key type " + key.type() + "; " + CONVERT);
        }
    }

    /**
     * Whether {@code key} is the private half of {@code publicKey}: RSA moduli compared, other keys by signing a
     * random challenge and verifying it.
     */
    public static boolean matches(PrivateKey key, PublicKey publicKey) {
        if (key instanceof RSAKey rsa) {
            if (!(publicKey instanceof RSAPublicKey pub) || !rsa.getModulus().equals(pub.getModulus())) {
                return false;
            }
            return !(key instanceof RSAPrivateCrtKey crt)
                    || crt.getPublicExponent().equals(pub.getPublicExponent());
        }
        if (publicKey instanceof RSAPublicKey) {
            return false;
        }
        String algorithm = key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : key.getAlgorithm();
        try {
            byte[] challenge = new byte[32];
            new SecureRandom().nextBytes(challenge);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(challenge);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(publicKey);
            verifier.update(challenge);
            return verifier.verify(signature);
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    private static PrivateKey pkcs8(byte[] der, String... algorithms) {
        for (String algorithm : algorithms) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (InvalidKeySpecException | java.security.NoSuchAlgorithmException e) {
                // not this algorithm; try the next
            }
        }
        throw new IllegalArgumentException("the private key does not parse as " + String.join(", ", algorithms));
    }

    /** The curve OID (a whole TLV) of a SEC1 ECPrivateKey: SEQUENCE { version, privateKey, [0] parameters, ... }. */
    private static byte[] sec1Curve(byte[] der) {
        try {
            int[] seq = header(der, 0);
            if (der[0] != 0x30) {
                throw new IllegalArgumentException();
            }
            int pos = seq[0];
            int end = seq[0] + seq[1];
            while (pos < end) {
                int tag = der[pos] & 0xff;
                int[] h = header(der, pos);
                if (tag == 0xa0) {
                    int inner = h[0];
                    if ((der[inner] & 0xff) != 0x06) {
                        break;
                    }
                    int[] oid = header(der, inner);
                    byte[] out = new byte[oid[0] + oid[1] - inner];
                    System.arraycopy(der, inner, out, 0, out.length);
                    return out;
                }
                pos = h[0] + h[1];
            }
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("the EC PRIVATE KEY does not parse");
        }
        throw new IllegalArgumentException("the EC PRIVATE KEY names no curve; " + CONVERT);
    }

    /** Returns {start of content, content length} of the DER element at {@code pos}. */
    private static int[] header(byte[] der, int pos) {
        int len = der[pos + 1] & 0xff;
        int start = pos + 2;
        if (len >= 0x80) {
            int n = len & 0x7f;
            if (n == 0 || n > 3) {
                throw new IllegalArgumentException("bad DER length");
            }
            len = 0;
            for (int i = 0; i < n; i++) {
                len = (len << 8) | (der[start + i] & 0xff);
            }
            start += n;
        }
        if (start + len > der.length) {
            throw new IllegalArgumentException("truncated DER");
        }
        return new int[] {start, len};
    }

    private static byte[] integer0() {
        return new byte[] {0x02, 0x01, 0x00};
    }

    private static byte[] octetString(byte[] content) {
        return tlv(0x04, content);
    }

    private static byte[] sequence(byte[]... parts) {
        ByteArrayOutputStream content = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            content.writeBytes(p);
        }
        return tlv(0x30, content.toByteArray());
    }

    private static byte[] tlv(int tag, byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(content.length + 6);
        out.write(tag);
        int len = content.length;
        if (len < 0x80) {
            out.write(len);
        } else {
            byte[] l = BigInteger.valueOf(len).toByteArray();
            int skip = l[0] == 0 ? 1 : 0;
            out.write(0x80 | (l.length - skip));
            out.write(l, skip, l.length - skip);
        }
        out.writeBytes(content);
        return out.toByteArray();
    }

    private static String found(byte[] text) {
        List<Block> blocks = blocks(text);
        return blocks.isEmpty() ? " (the file holds no PEM blocks)" : " (found: " + blocks + ")";
    }

    private static byte[] hex(String s) {
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }
}
