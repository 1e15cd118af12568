package dev.fairload.lb.health;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.Server;
import dev.fairload.lb.ServerStatus;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import mockwebserver3.junit5.StartStop;
import okhttp3.tls.HandshakeCertificates;
import okhttp3.tls.HeldCertificate;
import org.junit.jupiter.api.Test;

/** Health checks over https, against a real TLS server with a certificate made for the test. */
class HttpsHealthCheckTest {
    private static final HeldCertificate CA =
            new HeldCertificate.Builder().certificateAuthority(0).build();
    private static final HeldCertificate LEAF = new HeldCertificate.Builder()
            .addSubjectAlternativeName("localhost")
            .addSubjectAlternativeName("127.0.0.1")
            .signedBy(CA)
            .build();

    @StartStop
    private final MockWebServer backend = new MockWebServer();

    private void serveTls() {
        backend.useHttps(new HandshakeCertificates.Builder()
                .heldCertificate(LEAF)
                .build()
                .sslSocketFactory());
        backend.setDispatcher(new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                return new MockResponse.Builder()
                        .code("/health".equals(request.getTarget()) ? 200 : 404)
                        .body("ok")
                        .build();
            }
        });
    }

    private ServerStatus firstVerdict(ActiveHealthCheck check) throws Exception {
        try (LoadBalancer lb = LoadBalancer.builder().activeHealthCheck(check).build()) {
            lb.pool()
                    .add(Server.builder("localhost", backend.getPort())
                            .id("tls")
                            .build());
            lb.pool().firstCheck("tls").get(10, TimeUnit.SECONDS);
            if (lb.pool().get("tls").orElseThrow().status() == ServerStatus.UNHEALTHY) {
                assertThat(lb.health("tls").lastError()).isNotBlank();
            }
            return lb.pool().get("tls").orElseThrow().status();
        }
    }

    private static ActiveHealthCheck.Builder https() {
        return ActiveHealthCheck.builder()
                .interval(Duration.ofSeconds(30))
                .timeout(Duration.ofSeconds(5))
                .https(true);
    }

    @Test
    void https_trustedCertificate_isHealthy() throws Exception {
        serveTls();
        HandshakeCertificates trust = new HandshakeCertificates.Builder()
                .addTrustedCertificate(CA.certificate())
                .build();
        assertThat(firstVerdict(https().sslContext(trust.sslContext()).build())).isEqualTo(ServerStatus.HEALTHY);
    }

    @Test
    void https_untrustedCertificate_isUnhealthy() throws Exception {
        serveTls();
        // The JDK's default trust store does not know the test CA.
        assertThat(firstVerdict(https().build())).isEqualTo(ServerStatus.UNHEALTHY);
    }
}
