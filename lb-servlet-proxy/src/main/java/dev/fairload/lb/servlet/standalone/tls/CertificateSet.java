package dev.fairload.lb.servlet.standalone.tls;

import dev.fairload.lb.servlet.internal.Pem;
import dev.fairload.lb.servlet.tls.CertificateInfo;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * One consistent set of certificates and keys, read from {@code sslCertPath} (and {@code sslKeyPath}), validated,
 * and held in an in-memory PKCS#12 keystore that Jetty's {@code SslContextFactory} takes as is.
 *
 * <p>Sources: a PEM file (certificate chain, leaf first; the key from {@code sslKeyPath}, or from the same file if
 * that is null), a PKCS#12 keystore ({@code .p12}, {@code .pfx}; password read from the {@code sslKeyPath} file, or
 * empty), or a directory of {@code NAME.crt} or {@code NAME.pem} files each with a {@code NAME.key}.
 *
 * <p>Validation: every key must parse and belong to the first certificate of its chain. Messages name the field and
 * file, never key material or file contents.
 *
 * <p>Immutable. The keystore password is random per set and lives only in memory.
 */
final class CertificateSet {
    static final String DEFAULT_NAME = "default";

    final String certPath;
    final String keyPath;
    final byte[] digest;
    final KeyStore keyStore;
    final String password;
    final String defaultAlias;
    private final Map<String, X509Certificate> leaves;

    private CertificateSet(
            Source source,
            KeyStore keyStore,
            String password,
            String defaultAlias,
            Map<String, X509Certificate> leaves) {
        this.certPath = source.certPath;
        this.keyPath = source.keyPath;
        this.digest = source.digest;
        this.keyStore = keyStore;
        this.password = password;
        this.defaultAlias = defaultAlias;
        this.leaves = Collections.unmodifiableMap(leaves);
    }

    /** Whether this set was read from these paths. */
    boolean isFrom(String certPath, String keyPath) {
        return this.certPath.equals(certPath) && java.util.Objects.equals(this.keyPath, keyPath);
    }

    /** The certificates, default first, then by name. */
    List<CertificateInfo> infos(Instant now) {
        List<CertificateInfo> out = new ArrayList<>();
        out.add(CertificateInfo.of(defaultAlias, leaves.get(defaultAlias), true, now));
        for (Map.Entry<String, X509Certificate> e : leaves.entrySet()) {
            if (!e.getKey().equals(defaultAlias)) {
                out.add(CertificateInfo.of(e.getKey(), e.getValue(), false, now));
            }
        }
        return out;
    }

    /** The bytes of the files a set is read from, and their digest. */
    static final class Source {
        final String certPath;
        final String keyPath;
        final Map<String, byte[]> files;
        final List<String[]> pairs;
        final byte[] digest;

        private Source(String certPath, String keyPath, Map<String, byte[]> files, List<String[]> pairs) {
            this.certPath = certPath;
            this.keyPath = keyPath;
            this.files = files;
            this.pairs = pairs;
            MessageDigest sha;
            try {
                sha = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
            for (Map.Entry<String, byte[]> e : files.entrySet()) {
                sha.update(e.getKey().getBytes(StandardCharsets.UTF_8));
                sha.update((byte) 0);
                sha.update(e.getValue());
            }
            this.digest = sha.digest();
        }

        /**
         * Reads the files (a directory's pairs, in name order).
         *
         * @throws IllegalArgumentException naming the field if a file cannot be read
         */
        static Source read(String certPath, String keyPath) {
            Map<String, byte[]> files = new LinkedHashMap<>();
            List<String[]> pairs = new ArrayList<>();
            Path cert = Path.of(certPath);
            if (Files.isDirectory(cert)) {
                if (keyPath != null) {
                    throw new IllegalArgumentException("sslKeyPath: " + keyPath
                            + " (expected: none when sslCertPath is a directory; each NAME.crt has its NAME.key)");
                }
                List<Path> certs;
                try (Stream<Path> list = Files.list(cert)) {
                    certs = list.filter(p -> isCertName(p.getFileName().toString()))
                            .filter(p -> Files.isRegularFile(keyFor(p)))
                            .sorted()
                            .toList();
                } catch (IOException | RuntimeException e) {
                    throw new IllegalArgumentException("sslCertPath: cannot list " + certPath + " ("
                            + e.getClass().getSimpleName() + ")");
                }
                if (certs.isEmpty()) {
                    throw new IllegalArgumentException("sslCertPath: " + certPath
                            + " (expected: a directory with NAME.crt or NAME.pem files, each with a NAME.key)");
                }
                for (Path p : certs) {
                    files.put(p.toString(), readFile("sslCertPath", p));
                    files.put(keyFor(p).toString(), readFile("sslCertPath", keyFor(p)));
                    pairs.add(new String[] {p.toString(), keyFor(p).toString()});
                }
            } else {
                files.put(certPath, readFile("sslCertPath", cert));
                if (keyPath != null) {
                    files.put(keyPath, readFile("sslKeyPath", Path.of(keyPath)));
                }
            }
            return new Source(certPath, keyPath, files, pairs);
        }

        private static boolean isCertName(String name) {
            String lower = name.toLowerCase(Locale.ROOT);
            return lower.endsWith(".crt") || lower.endsWith(".pem");
        }

        private static Path keyFor(Path cert) {
            String name = cert.getFileName().toString();
            return cert.resolveSibling(name.substring(0, name.lastIndexOf('.')) + ".key");
        }

        private static byte[] readFile(String field, Path p) {
            try {
                return Files.readAllBytes(p);
            } catch (IOException | RuntimeException e) {
                throw new IllegalArgumentException(
                        field + ": cannot read " + p + " (" + e.getClass().getSimpleName()
                                + (e instanceof java.nio.file.NoSuchFileException ? ": no such file" : "") + ")");
            }
        }
    }

    /**
     * Reads and validates a set.
     *
     * @throws IllegalArgumentException naming {@code sslCertPath} or {@code sslKeyPath} and the file
     */
    static CertificateSet load(String certPath, String keyPath) {
        return load(Source.read(certPath, keyPath));
    }

    /** Validates the bytes already read. */
    static CertificateSet load(Source source) {
        Map<String, PrivateKey> keys = new LinkedHashMap<>();
        Map<String, List<X509Certificate>> chains = new LinkedHashMap<>();
        Path cert = Path.of(source.certPath);
        String lower = source.certPath.toLowerCase(Locale.ROOT);
        if (Files.isDirectory(cert)) {
            for (String[] pair : source.pairs) {
                String certFile = pair[0];
                String keyFile = pair[1];
                String file = Path.of(certFile).getFileName().toString();
                String alias = file.substring(0, file.lastIndexOf('.')).toLowerCase(Locale.ROOT);
                if (chains.containsKey(alias)) {
                    throw new IllegalArgumentException("sslCertPath: " + source.certPath + ": two certificates named "
                            + alias + " (expected: one NAME.crt or NAME.pem per NAME.key)");
                }
                addPair(
                        alias,
                        certFile,
                        source.files.get(certFile),
                        "sslCertPath",
                        keyFile,
                        source.files.get(keyFile),
                        "sslCertPath",
                        keys,
                        chains);
            }
        } else if (lower.endsWith(".p12") || lower.endsWith(".pfx")) {
            readKeyStore(source, keys, chains);
        } else {
            byte[] keyBytes =
                    source.keyPath != null ? source.files.get(source.keyPath) : source.files.get(source.certPath);
            String keyFile = source.keyPath != null ? source.keyPath : source.certPath;
            String keyField = source.keyPath != null ? "sslKeyPath" : "sslCertPath";
            addPair(
                    DEFAULT_NAME,
                    source.certPath,
                    source.files.get(source.certPath),
                    "sslCertPath",
                    keyFile,
                    keyBytes,
                    keyField,
                    keys,
                    chains);
        }
        String defaultAlias = chains.containsKey(DEFAULT_NAME)
                ? DEFAULT_NAME
                : chains.keySet().stream().sorted().findFirst().orElseThrow();
        try {
            String password = randomPassword();
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            Map<String, X509Certificate> leaves = new java.util.TreeMap<>();
            for (Map.Entry<String, PrivateKey> e : keys.entrySet()) {
                List<X509Certificate> chain = chains.get(e.getKey());
                store.setKeyEntry(e.getKey(), e.getValue(), password.toCharArray(), chain.toArray(new Certificate[0]));
                leaves.put(e.getKey(), chain.get(0));
            }
            return new CertificateSet(source, store, password, defaultAlias, leaves);
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build the in-memory keystore", e);
        }
    }

    private static void addPair(
            String alias,
            String certFile,
            byte[] certBytes,
            String certField,
            String keyFile,
            byte[] keyBytes,
            String keyField,
            Map<String, PrivateKey> keys,
            Map<String, List<X509Certificate>> chains) {
        List<X509Certificate> chain;
        try {
            chain = Pem.certificates(certBytes);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(certField + ": " + certFile + ": " + e.getMessage());
        }
        PrivateKey key;
        try {
            key = Pem.privateKey(keyBytes);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(keyField + ": " + keyFile + ": " + e.getMessage());
        }
        checkMatch(alias, key, chain, keyField, keyFile);
        keys.put(alias, key);
        chains.put(alias, chain);
    }

    private static void checkMatch(
            String alias, PrivateKey key, List<X509Certificate> chain, String keyField, String keyFile) {
        if (!Pem.matches(key, chain.get(0).getPublicKey())) {
            for (int i = 1; i < chain.size(); i++) {
                if (Pem.matches(key, chain.get(i).getPublicKey())) {
                    throw new IllegalArgumentException(keyField + ": " + keyFile + ": the key belongs to certificate "
                            + (i + 1) + " of the chain (expected: the first, the server's own certificate)");
                }
            }
            throw new IllegalArgumentException(keyField + ": " + keyFile + ": the key does not belong to the"
                    + " certificate " + chain.get(0).getSubjectX500Principal().getName() + " (" + alias + ")");
        }
    }

    private static void readKeyStore(
            Source source, Map<String, PrivateKey> keys, Map<String, List<X509Certificate>> chains) {
        char[] password = source.keyPath == null
                ? new char[0]
                : new String(source.files.get(source.keyPath), StandardCharsets.UTF_8)
                        .strip()
                        .toCharArray();
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            try {
                store.load(new ByteArrayInputStream(source.files.get(source.certPath)), password);
            } catch (IOException e) {
                boolean wrongPassword = e.getCause() instanceof java.security.UnrecoverableKeyException
                        || String.valueOf(e.getMessage()).contains("password");
                throw new IllegalArgumentException(
                        wrongPassword
                                ? "sslKeyPath: " + (source.keyPath == null ? "(none)" : source.keyPath)
                                        + ": wrong password for the PKCS#12 keystore " + source.certPath
                                : "sslCertPath: " + source.certPath + ": not a readable PKCS#12 keystore");
            }
            for (String alias : Collections.list(store.aliases())) {
                if (!store.isKeyEntry(alias)) {
                    continue;
                }
                Key key = store.getKey(alias, password);
                Certificate[] chain = store.getCertificateChain(alias);
                if (!(key instanceof PrivateKey pk) || chain == null || chain.length == 0) {
                    continue;
                }
                List<X509Certificate> x509 = new ArrayList<>();
                for (Certificate c : chain) {
                    x509.add((X509Certificate) c);
                }
                checkMatch(alias, pk, x509, "sslCertPath", source.certPath);
                keys.put(alias, pk);
                chains.put(alias, x509);
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("sslCertPath: " + source.certPath + ": cannot read its keys ("
                    + e.getClass().getSimpleName() + "; a key password different from the store's is not supported)");
        }
        if (keys.isEmpty()) {
            throw new IllegalArgumentException(
                    "sslCertPath: " + source.certPath + ": the keystore holds no private key with a certificate");
        }
    }

    private static String randomPassword() {
        byte[] bytes = new byte[18];
        new SecureRandom().nextBytes(bytes);
        return Base64.getEncoder().encodeToString(bytes);
    }

    boolean sameSource(Source source) {
        return isFrom(source.certPath, source.keyPath) && Arrays.equals(digest, source.digest);
    }
}
