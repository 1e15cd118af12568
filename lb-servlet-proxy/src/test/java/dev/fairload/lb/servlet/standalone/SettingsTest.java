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
                "    healthCheckInterval: 10",
                "    healthCheckFastInterval: 2",
                "  - http://10.0.0.2:8080",
                ""));
        assertThat(s.backends).extracting(Server::authority).containsExactly("10.0.0.1:8080", "10.0.0.2:8080");
        assertThat(s.backends.get(0).healthCheckPath()).contains("/ready");
        assertThat(s.backends.get(0).healthCheckInterval()).contains(java.time.Duration.ofSeconds(10));
        assertThat(s.backends.get(0).healthCheckFastInterval()).contains(java.time.Duration.ofSeconds(2));
        assertThat(s.backends.get(1).healthCheckPath()).isEmpty();
        assertThat(s.backends.get(1).healthCheckFastInterval()).isEmpty();
    }

    @Test
    void backendEntry_badHealthCheckPathOrUnknownKey_refusedNamingIt() {
        assertThatThrownBy(() -> parseYaml("backends:\n  - url: http://10.0.0.1:8080\n    healthCheckPath: ready\n"))
                .isInstanceOf(UsageException.class)
                .hasMessageContaining("healthCheckPath");
        assertThatThrownBy(() -> parseYaml("backends:\n  - url: http://10.0.0.1:8080\n    path: /ready\n"))
                .isInstanceOf(UsageException.class)
                .hasMessageContaining("unknown key 'path' (expected: url, weight, id, healthCheckPath,"
                        + " healthCheckInterval, healthCheckFastInterval)");
        assertThatThrownBy(
                        () -> parseYaml("backends:\n  - url: http://10.0.0.1:8080\n    healthCheckFastInterval: 0\n"))
                .isInstanceOf(UsageException.class)
                .hasMessageContaining("healthCheckFastInterval");
    }

    /**
     * The commented example configuration of the repository (examples/fairload.yaml) is valid as written: it loads,
     * and a proxy starts from it (ports overridden on the command line, as a user would to run it twice) with its
     * values in force.
     */
    @Test
    void exampleConfigurationFile_loadsAndRuns() throws Exception {
        Path example = Path.of("..", "examples", "fairload.yaml");
        assertThat(Files.readString(example)).contains("# ");
        Settings s = Settings.parse(
                new String[] {"--config", example.toString(), "--host", "127.0.0.1", "--port", "0", "--admin-port", "0"
                });
        assertThat(s.config.healthCheckInterval()).isEqualTo(30);
        assertThat(s.config.healthCheckFastInterval()).isEqualTo(1);
        assertThat(s.backends).extracting(Server::authority).containsExactly("127.0.0.1:9001", "127.0.0.1:9002");
        assertThat(s.backends.get(1).weight()).isEqualTo(3);
        assertThat(s.backends.get(1).id()).isEqualTo("big-one");
        StandaloneProxy proxy = new StandaloneProxy(s);
        proxy.start();
        try {
            assertThat(proxy.port()).isPositive();
            assertThat(proxy.runtime().config()).isEqualTo(s.config);
            assertThat(proxy.runtime().loadBalancer().pool().get("big-one")).isPresent();
            java.net.http.HttpResponse<String> config = java.net.http.HttpClient.newHttpClient()
                    .send(
                            java.net.http.HttpRequest.newBuilder(java.net.URI.create(
                                            "http://127.0.0.1:" + proxy.adminPort() + "/api/config"))
                                    .build(),
                            java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(config.statusCode()).isEqualTo(200);
            assertThat(config.body()).contains("\"healthCheckFastInterval\":1", "\"algorithm\":\"round_robin\"");
        } finally {
            proxy.stop();
        }
    }
}
