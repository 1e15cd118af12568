package dev.fairload.lb.servlet.standalone;

import dev.fairload.lb.servlet.tls.CertificateInfo;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The gauge {@code fairload.tls.certificate.expiry} (Prometheus: {@code fairload_tls_certificate_expiry_seconds}),
 * one per certificate in use, tagged {@code name} and {@code sha256}: seconds until its {@code notAfter}, negative
 * once expired. {@link #refresh()} (run before each scrape) registers the certificates in use and removes those no
 * longer in use, so the gauges follow rotations and TLS being turned on or off without a listener of their own.
 *
 * <p>Thread-safe; a refresh costs one call of the supplier and O(certificates).
 */
final class CertificateExpiryGauges {
    static final String NAME = "fairload.tls.certificate.expiry";

    private final MeterRegistry registry;
    private final Supplier<List<CertificateInfo>> certificates;
    /** The gauges registered, by name and fingerprint. */
    private Map<List<String>, Meter.Id> registered = Map.of();

    CertificateExpiryGauges(MeterRegistry registry, Supplier<List<CertificateInfo>> certificates) {
        this.registry = registry;
        this.certificates = certificates;
    }

    synchronized void refresh() {
        Map<List<String>, Meter.Id> inUse = new HashMap<>();
        for (CertificateInfo info : certificates.get()) {
            List<String> key = List.of(info.name(), info.sha256());
            Meter.Id id = registered.get(key);
            if (id == null) {
                // The fingerprint identifies the certificate, so the notAfter a gauge holds stays right.
                id = Gauge.builder(NAME, info.notAfter(), CertificateExpiryGauges::secondsUntil)
                        .tags("name", info.name(), "sha256", info.sha256())
                        .baseUnit("seconds")
                        .description(
                                "Seconds until the TLS certificate in use expires (notAfter); negative once expired")
                        .strongReference(true)
                        .register(registry)
                        .getId();
            }
            inUse.put(key, id);
        }
        for (Map.Entry<List<String>, Meter.Id> e : registered.entrySet()) {
            if (!inUse.containsKey(e.getKey())) {
                registry.remove(e.getValue());
            }
        }
        registered = inUse;
    }

    private static double secondsUntil(Instant notAfter) {
        return Duration.between(Instant.now(), notAfter).getSeconds();
    }
}
