package dev.fairload.lb.examples.discovery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairload.lb.dns.Dnsmasq;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DnsDiscoveryExampleTest {
    @TempDir
    Path dir;

    @Test
    void run_discoversTheSrvRecordsAndPicksAlwaysTheSameServerForOneClient() throws Exception {
        try (Dnsmasq dns = new Dnsmasq(dir)) {
            dns.hosts("10.0.0.1 api-1.internal", "10.0.0.2 api-2.internal");
            dns.srv(
                    "_http._tcp.api.internal,api-1.internal,8080,0,65535",
                    "_http._tcp.api.internal,api-2.internal,8080,0,32768");
            dns.start();
            ByteArrayOutputStream output = new ByteArrayOutputStream();

            List<String> picked =
                    DnsDiscoveryExample.run(dns.address(), new PrintStream(output, true, StandardCharsets.UTF_8));

            assertThat(output.toString(StandardCharsets.UTF_8))
                    .contains("10.0.0.1:8080 weight 1000 from dns+srv://_http._tcp.api.internal")
                    .contains("10.0.0.2:8080 weight 500 from dns+srv://_http._tcp.api.internal");
            assertThat(picked).hasSize(3).containsOnly(picked.get(0));
        }
    }
}
