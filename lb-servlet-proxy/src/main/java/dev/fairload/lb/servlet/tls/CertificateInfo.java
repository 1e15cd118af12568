package dev.fairload.lb.servlet.tls;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.security.auth.x500.X500Principal;

/**
 * A certificate the TLS listener presents: public facts only, never key material. Safe to show in {@code GET
 * /api/config} and in metrics.
 *
 * @param name the certificate's name: its keystore alias, or the file name (without extension) in a directory of
 *     certificates, or {@code default} for a single PEM pair
 * @param subject the subject's distinguished name (RFC 2253)
 * @param subjectAlternativeNames the DNS names and IP addresses it is valid for
 * @param issuer the issuer's distinguished name (RFC 2253)
 * @param notBefore start of validity
 * @param notAfter end of validity
 * @param daysLeft whole days from {@code checkedAt} until {@code notAfter}; negative once expired
 * @param sha256 SHA-256 fingerprint of the DER encoding, lowercase hex
 * @param isDefault whether it is presented to clients that send no SNI name, or one no certificate matches
 * @param checkedAt when {@code daysLeft} was computed
 */
public record CertificateInfo(
        String name,
        String subject,
        List<String> subjectAlternativeNames,
        String issuer,
        Instant notBefore,
        Instant notAfter,
        long daysLeft,
        String sha256,
        boolean isDefault,
        Instant checkedAt) {

    /** Below this many days left the proxy logs a warning (once a day), and {@link #expiresSoon()} is true. */
    public static final int WARNING_DAYS = 14;

    public CertificateInfo {
        subjectAlternativeNames = List.copyOf(subjectAlternativeNames);
    }

    /** Whether fewer than {@link #WARNING_DAYS} days are left (or it has expired). */
    public boolean expiresSoon() {
        return daysLeft < WARNING_DAYS;
    }

    /** The same certificate with {@link #daysLeft()} computed at {@code now}. */
    public CertificateInfo at(Instant now) {
        return new CertificateInfo(
                name,
                subject,
                subjectAlternativeNames,
                issuer,
                notBefore,
                notAfter,
                daysBetween(now, notAfter),
                sha256,
                isDefault,
                now);
    }

    /**
     * The fields by JSON name, for the admin API: {@code name, subject, subjectAlternativeNames, issuer, notBefore,
     * notAfter} (ISO-8601), {@code daysLeft, expiresSoon, sha256, default}.
     */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("subject", subject);
        m.put("subjectAlternativeNames", subjectAlternativeNames);
        m.put("issuer", issuer);
        m.put("notBefore", notBefore.toString());
        m.put("notAfter", notAfter.toString());
        m.put("daysLeft", daysLeft);
        m.put("expiresSoon", expiresSoon());
        m.put("sha256", sha256);
        m.put("default", isDefault);
        return m;
    }

    /** Describes {@code certificate} as of {@code now}. */
    public static CertificateInfo of(String name, X509Certificate certificate, boolean isDefault, Instant now) {
        Instant notAfter = certificate.getNotAfter().toInstant();
        return new CertificateInfo(
                name,
                certificate.getSubjectX500Principal().getName(X500Principal.RFC2253),
                alternativeNames(certificate),
                certificate.getIssuerX500Principal().getName(X500Principal.RFC2253),
                certificate.getNotBefore().toInstant(),
                notAfter,
                daysBetween(now, notAfter),
                fingerprint(certificate),
                isDefault,
                now);
    }

    private static long daysBetween(Instant now, Instant notAfter) {
        Duration left = Duration.between(now, notAfter);
        // Floor, so an expired certificate shows -1 and not 0.
        return Math.floorDiv(left.getSeconds(), 86_400);
    }

    private static List<String> alternativeNames(X509Certificate certificate) {
        List<String> out = new ArrayList<>();
        try {
            Collection<List<?>> names = certificate.getSubjectAlternativeNames();
            if (names != null) {
                for (List<?> entry : names) {
                    int type = (Integer) entry.get(0);
                    if (type == 2 || type == 7) { // dNSName, iPAddress
                        out.add(String.valueOf(entry.get(1)));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // Shown without names; the certificate itself parsed.
        }
        return out;
    }

    private static String fingerprint(X509Certificate certificate) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded()));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            return "";
        }
    }
}
