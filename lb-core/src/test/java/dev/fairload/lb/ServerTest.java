package dev.fairload.lb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ServerTest {

    @ParameterizedTest
    @ValueSource(strings = {"localhost", "api.example.com", "127.0.0.1", "::1", "[::1]", "fe80::1:2", "a-b.c"})
    void host_acceptsNamesAndLiterals(String host) {
        assertThat(Server.of(host, 80).host()).doesNotStartWith("[");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "a b", "-a.com", "a..b", "256.1.1.1", "1.2.3", "http://x", "x:y:z:::1", "a_b"})
    void host_rejectsMalformed(String host) {
        assertThatThrownBy(() -> Server.of(host, 80))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("host: ");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, -1, 65536, 100000})
    void port_outsideRange(int port) {
        assertThatThrownBy(() -> Server.of("localhost", port))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("port: " + port + " (expected: 1-65535)");
    }

    @Test
    void weightAndHealthSettings_validated() {
        Server.Builder b = Server.builder("localhost", 80);
        assertThatThrownBy(() -> b.weight(0)).hasMessage("weight: 0 (expected: 1-1000)");
        assertThatThrownBy(() -> b.healthCheckPath("health")).hasMessageStartingWith("healthCheckPath: 'health'");
        assertThatThrownBy(() -> b.healthCheckInterval(Duration.ZERO)).hasMessageStartingWith("healthCheckInterval");
        assertThatThrownBy(() -> b.id("has space")).hasMessageStartingWith("id: 'has space'");
        Server s = b.weight(7).build();
        assertThat(s.weight()).isEqualTo(7);
        assertThat(s.healthCheckPath()).isEmpty();
        assertThat(s.healthCheckInterval()).isEmpty();
        Server overriding = b.healthCheckPath("/ready")
                .healthCheckInterval(Duration.ofSeconds(5))
                .build();
        assertThat(overriding.healthCheckPath()).contains("/ready");
        assertThat(overriding.healthCheckInterval()).contains(Duration.ofSeconds(5));
    }

    @Test
    void toBuilder_keepsIdentity() {
        Server s = Server.builder("::1", 8080).weight(3).build();
        Server heavier = s.withWeight(9);
        assertThat(heavier.id()).isEqualTo(s.id());
        assertThat(heavier.addedAt()).isEqualTo(s.addedAt());
        assertThat(heavier.weight()).isEqualTo(9);
        assertThat(s.authority()).isEqualTo("[::1]:8080");
    }

    @Test
    void stickyToken_dependsOnAddressOnly() {
        Server a = Server.builder("127.0.0.1", 9001).id("one").build();
        Server b = Server.builder("127.0.0.1", 9001).id("two").weight(5).build();
        Server c = Server.of("127.0.0.1", 9002);
        assertThat(a.stickyToken()).isEqualTo(b.stickyToken()).hasSize(16).doesNotContain("127");
        assertThat(c.stickyToken()).isNotEqualTo(a.stickyToken());
    }
}
