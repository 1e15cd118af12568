package dev.fairload.lb.servlet.standalone;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The standalone proxy started in this JVM from a YAML file, on 127.0.0.1 with free ports and checks off. */
final class InProcessProxy {
    private InProcessProxy() {}

    /**
     * Writes {@code dir/name.yaml} (127.0.0.1, port 0, admin port 0, health checks off, the {@code settings} lines,
     * one backend on 127.0.0.1:{@code backendPort}) and starts a proxy from it; the caller stops it.
     */
    static StandaloneProxy start(Path dir, String name, int backendPort, String... settings) throws Exception {
        List<String> lines = new ArrayList<>(List.of("host: 127.0.0.1", "port: 0", "adminPort: 0"));
        lines.add("healthCheckEnabled: false");
        lines.addAll(List.of(settings));
        lines.add("backends:");
        lines.add("  - http://127.0.0.1:" + backendPort);
        Path config = Files.writeString(dir.resolve(name + ".yaml"), String.join("\n", lines) + "\n");
        StandaloneProxy proxy = new StandaloneProxy(Settings.parse(new String[] {"--config", config.toString()}));
        proxy.start();
        return proxy;
    }
}
