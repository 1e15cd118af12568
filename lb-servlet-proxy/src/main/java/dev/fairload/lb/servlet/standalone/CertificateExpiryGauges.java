package dev.fairload.lb.servlet.standalone;

import dev.fairload.lb.servlet.tls.CertificateInfo;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
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
    private Set<Meter.Id> registered = Set.of();

    CertificateExpiryGauges(MeterRegistry registry, Supplier<List<CertificateInfo>> certificates) {
        this.registry = registry;
        this.certificates = certificates;
    }

    synchronized void refresh() {
        Set<Meter.Id> inUse = new HashSet<>();
        for (CertificateInfo info : certificates.get()) {
            // The fingerprint identifies the certificate, so a gauge registered earlier has the same notAfter.
            Gauge gauge = Gauge.builder(NAME, info.notAfter(), CertificateExpiryGauges::secondsUntil)
                    .tags("name", info.name(), "sha256", info.sha256())
                    .baseUnit("seconds")
                    .description("Seconds until the TLS certificate in use expires (notAfter); negative once expired")
                    .strongReference(true)
                    .register(registry);
            inUse.add(gauge.getId());
        }
        for (Meter.Id id : registered) {
            if (!inUse.contains(id)) {
                registry.remove(id);
            }
        }
        registered = inUse;
    }

    private static double secondsUntil(Instant notAfter) {
        return Duration.between(Instant.now(), notAfter).getSeconds();
    }
}
