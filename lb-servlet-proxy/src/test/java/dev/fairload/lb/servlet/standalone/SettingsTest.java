package dev.fairload.lb.servlet.standalone;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fairload.lb.Server;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launcher's YAML file, as far as the command-line and jar tests do not cover it. */
class SettingsTest {
    @TempDir
    Path dir;

    private Settings parseYaml(String yaml) throws Exception {
        Path file = dir.resolve("proxy.yaml");
        Files.writeString(file, yaml);
        return Settings.parse(new String[] {"--config", file.toString()});
    }

    @Test
    void backendEntry_takesHealthCheckPath() throws Exception {
        Settings s = parseYaml(String.join(
                "\n",
                "backends:",
                "  - url: http://10.0.0.1:8080",
                "    healthCheckPath: /ready",
                "  - http://10.0.0.2:8080",
                ""));
        assertThat(s.backends).extracting(Server::authority).containsExactly("10.0.0.1:8080", "10.0.0.2:8080");
        assertThat(s.backends.get(0).healthCheckPath()).contains("/ready");
        assertThat(s.backends.get(1).healthCheckPath()).isEmpty();
    }

    @Test
    void backendEntry_badHealthCheckPathOrUnknownKey_refusedNamingIt() {
        assertThatThrownBy(() -> parseYaml("backends:\n  - url: http://10.0.0.1:8080\n    healthCheckPath: ready\n"))
                .isInstanceOf(UsageException.class)
                .hasMessageContaining("healthCheckPath");
        assertThatThrownBy(() -> parseYaml("backends:\n  - url: http://10.0.0.1:8080\n    path: /ready\n"))
                .isInstanceOf(UsageException.class)
                .hasMessageContaining("unknown key 'path' (expected: url, weight, id, healthCheckPath)");
    }
}
