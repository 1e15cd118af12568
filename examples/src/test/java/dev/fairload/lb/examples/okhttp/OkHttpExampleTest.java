package dev.fairload.lb.examples.okhttp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OkHttpExampleTest {

    @Test
    void run_spreadsCallsThenFailsOverWithoutErrors() throws IOException {
        ByteArrayOutputStream output = new ByteArrayOutputStream();

        OkHttpExample.Result result = OkHttpExample.run(new PrintStream(output, true, StandardCharsets.UTF_8));

        assertThat(result.before()).isEqualTo(Map.of("orders-1", 3, "orders-2", 3, "orders-3", 3));
        assertThat(result.afterStop()).doesNotContainKey("orders-2");
        assertThat(result.afterStop().values().stream()
                        .mapToInt(Integer::intValue)
                        .sum())
                .isEqualTo(6);
        assertThat(result.failedCalls()).isZero();
        assertThat(output.toString(StandardCharsets.UTF_8)).contains("GET /orders/0 -> 200 orders-1");
    }
}
