package dev.fairload.lb;

import static dev.fairload.lb.Servers.numbered;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class SessionTest {

    private static LoadBalancer balancer(FakeTicker ticker) {
        LoadBalancer.Builder b = LoadBalancer.builder()
                .strategy(Strategy.roundRobin())
                .ticker(ticker)
                .sessionTimeout(Duration.ofMinutes(10));
        numbered(3).forEach(b::addServer);
        return b.build();
    }

    private static PickContext session(String key) {
        return PickContext.builder().sessionKey(key).build();
    }

    @Test
    void session_staysOnItsServer() {
        try (LoadBalancer lb = balancer(new FakeTicker())) {
            String first = Servers.pickId(lb, session("alice"));
            for (int i = 0; i < 50; i++) {
                assertThat(Servers.pickId(lb, session("alice"))).isEqualTo(first);
                Servers.pickId(lb, PickContext.empty());
            }
            assertThat(lb.sessionServer("alice")).isEqualTo(first);
            assertThat(lb.metrics().activeSessions()).isEqualTo(1);
        }
    }

    @Test
    void session_failsOverWhenItsServerDrainsAndIsRebound() {
        try (LoadBalancer lb = balancer(new FakeTicker())) {
            String first = Servers.pickId(lb, session("bob"));
            lb.pool().drain(first);
            String second = Servers.pickId(lb, session("bob"));
            assertThat(second).isNotEqualTo(first);
            assertThat(lb.metrics().failovers()).isEqualTo(1);
            lb.pool().undrain(first);
            assertThat(Servers.pickId(lb, session("bob"))).isEqualTo(second);
            assertThat(lb.metrics().failovers()).isEqualTo(1);
        }
    }

    @Test
    void session_failsOverWhenItsServerIsRemoved() {
        try (LoadBalancer lb = balancer(new FakeTicker())) {
            String first = Servers.pickId(lb, session("carol"));
            lb.pool().remove(first);
            String second = Servers.pickId(lb, session("carol"));
            assertThat(second).isNotEqualTo(first);
            assertThat(lb.sessionServer("carol")).isEqualTo(second);
            assertThat(lb.metrics().failovers()).isEqualTo(1);
        }
    }

    @Test
    void session_expiresAfterIdleTimeout() {
        FakeTicker ticker = new FakeTicker();
        try (LoadBalancer lb = balancer(ticker)) {
            Servers.pickId(lb, session("dave"));
            ticker.advance(Duration.ofMinutes(9));
            assertThat(lb.sessionServer("dave")).isNotNull();
            ticker.advance(Duration.ofMinutes(9));
            assertThat(lb.sessionServer("dave")).isNotNull();
            ticker.advance(Duration.ofMinutes(11));
            assertThat(lb.sessionServer("dave")).isNull();
        }
    }

    @Test
    void bindSession_routesLaterRequests() {
        try (LoadBalancer lb = balancer(new FakeTicker())) {
            lb.bindSession("erin", "s2");
            for (int i = 0; i < 10; i++) {
                assertThat(Servers.pickId(lb, session("erin"))).isEqualTo("s2");
            }
        }
    }

    @Test
    void stickyToken_pinsServerAndFailsOver() {
        try (LoadBalancer lb = balancer(new FakeTicker())) {
            String token = lb.pool().get("s1").orElseThrow().server().stickyToken();
            PickContext pinned = PickContext.builder().stickyToken(token).build();
            for (int i = 0; i < 10; i++) {
                assertThat(Servers.pickId(lb, pinned)).isEqualTo("s1");
            }
            lb.pool().drain("s1");
            assertThat(Servers.pickId(lb, pinned)).isNotEqualTo("s1");
            assertThat(lb.metrics().failovers()).isEqualTo(1);
        }
    }
}
