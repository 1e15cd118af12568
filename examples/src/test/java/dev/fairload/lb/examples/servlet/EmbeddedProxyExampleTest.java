package dev.fairload.lb.examples.servlet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EmbeddedProxyExampleTest {

    @Test
    void run_spreadsProxiedCallsOverBothBackendsAndServesTheAppsOwnPage() throws Exception {
        ByteArrayOutputStream output = new ByteArrayOutputStream();

        EmbeddedProxyExample.Result result =
                EmbeddedProxyExample.run(new PrintStream(output, true, StandardCharsets.UTF_8));

        assertThat(result.ownPage()).isEqualTo("hello from the app");
        assertThat(result.perBackend()).isEqualTo(Map.of("orders-1", 2, "orders-2", 2));
        // Round robin alternates, and the /api prefix is removed before forwarding.
        assertThat(result.answers())
                .containsExactly(
                        "orders-1 /orders/1", "orders-2 /orders/2", "orders-1 /orders/3", "orders-2 /orders/4");
        assertThat(output.toString(StandardCharsets.UTF_8)).contains("GET /api/orders/1 -> 200 orders-1 /orders/1");
    }

    @Test
    void run_stopsTheAppWhenDone() throws Exception {
        EmbeddedProxyExample.Result result =
                EmbeddedProxyExample.run(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));

        assertThatThrownBy(() -> new Socket("127.0.0.1", result.appPort()).close())
                .isInstanceOf(ConnectException.class);
    }
}
