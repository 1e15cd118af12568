package dev.fairload.lb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fairload.lb.dns.DnsServerSource;
import dev.fairload.lb.dns.Dnsmasq;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A DNS change of 1,000 records reaches the pool as one change: one snapshot, one table rebuild. */
class DnsBatchTest {
    @TempDir
    Path directory;

    private static String[] hosts(int from, int to) {
        List<String> lines = new ArrayList<>();
        for (int i = from; i < to; i++) {
            lines.add("127.1." + (i / 250) + "." + (1 + i % 250) + " many.test");
        }
        return lines.toArray(new String[0]);
    }

    @Test
    void thousandNewRecords_applyAsOneSnapshot() throws Exception {
        try (Dnsmasq dns = new Dnsmasq(directory)) {
            dns.hosts(hosts(0, 10));
            dns.start();
            try (DnsServerSource source = DnsServerSource.forAddresses("many.test", 8080)
                            .resolver(dns.address())
                            .minRefresh(Duration.ofMillis(100))
                            .maxRefresh(Duration.ofSeconds(1))
                            .build();
                    LoadBalancer lb =
                            LoadBalancer.builder().strategy(Strategy.ipHash()).build();
                    Discovery discovery = Discovery.attach(lb.pool(), source)) {
                discovery.whenReady().get(10, TimeUnit.SECONDS);
                assertThat(lb.pool().size()).isEqualTo(10);
                long before = lb.snapshotGeneration();

                dns.hosts(hosts(10, 1_010)); // 10 leave, 1,000 arrive
                await().atMost(Duration.ofSeconds(20)).until(() -> lb.pool().size() == 1_000);
                assertThat(lb.pool().get("127.1.0.1:8080")).isEmpty();
                assertThat(lb.snapshotGeneration()).isEqualTo(before + 1);
            }
        }
    }
}
