package dev.fairload.lb.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fairload.lb.Discovery;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.ServerStatus;
import dev.fairload.lb.ServerView;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Against fabric8's mock API server in CRUD mode: slices created, changed and deleted as Kubernetes would. */
@EnableKubernetesMockClient(crud = true)
class KubernetesServerSourceTest {
    KubernetesMockServer server;
    KubernetesClient client;

    private static Endpoint endpoint(String address, String zone, Boolean ready, Boolean serving, Boolean terminating) {
        return new EndpointBuilder()
                .withAddresses(address)
                .withZone(zone)
                .withNewConditions()
                .withReady(ready)
                .withServing(serving)
                .withTerminating(terminating)
                .endConditions()
                .build();
    }

    private static EndpointSlice slice(String name, String service, int port, Endpoint... endpoints) {
        return new EndpointSliceBuilder()
                .withNewMetadata()
                .withName(name)
                .withNamespace("shop")
                .addToLabels(KubernetesServerSource.SERVICE_NAME_LABEL, service)
                .endMetadata()
                .withAddressType("IPv4")
                .addNewPort()
                .withName("http")
                .withPort(port)
                .withProtocol("TCP")
                .endPort()
                .withEndpoints(endpoints)
                .build();
    }

    /** authority -> status, zone. */
    private static Map<String, String> servers(LoadBalancer lb) {
        Map<String, String> result = new TreeMap<>();
        for (ServerView v : lb.pool().list()) {
            result.put(
                    v.server().authority(),
                    v.status().jsonName() + " " + v.server().zone().orElse("-"));
        }
        return result;
    }

    @Test
    void followsTheServicesSlices_readyServingTerminatingAndZones() throws Exception {
        client.resource(slice(
                        "orders-abc",
                        "orders",
                        8080,
                        endpoint("10.1.0.1", "zone-a", true, true, false),
                        endpoint("10.1.0.2", "zone-b", null, null, null),
                        endpoint("10.1.0.3", "zone-b", false, false, false)))
                .create();
        client.resource(slice("other-xyz", "other", 9090, endpoint("10.9.0.1", "zone-a", true, true, false)))
                .create();

        try (KubernetesServerSource source = KubernetesServerSource.builder("shop", "orders")
                        .client(client)
                        .build();
                LoadBalancer lb = LoadBalancer.builder().build();
                Discovery discovery = Discovery.attach(lb.pool(), source)) {
            discovery.whenReady().get(30, TimeUnit.SECONDS);
            assertThat(source.name()).isEqualTo("kubernetes://shop/orders");
            assertThat(servers(lb))
                    .containsExactly(
                            Map.entry("10.1.0.1:8080", "healthy zone-a"), Map.entry("10.1.0.2:8080", "healthy zone-b"));

            // A second slice arrives; a pod starts terminating (still serving): it drains.
            client.resource(slice("orders-def", "orders", 8080, endpoint("10.1.0.4", "zone-c", true, true, false)))
                    .create();
            client.resource(slice(
                            "orders-abc",
                            "orders",
                            8080,
                            endpoint("10.1.0.1", "zone-a", false, true, true),
                            endpoint("10.1.0.2", "zone-b", true, true, false)))
                    .update();
            await().atMost(Duration.ofSeconds(30))
                    .untilAsserted(() -> assertThat(servers(lb))
                            .containsExactly(
                                    Map.entry("10.1.0.1:8080", "draining zone-a"),
                                    Map.entry("10.1.0.2:8080", "healthy zone-b"),
                                    Map.entry("10.1.0.4:8080", "healthy zone-c")));
            assertThat(lb.pool().get("10.1.0.1:8080").orElseThrow().status()).isEqualTo(ServerStatus.DRAINING);

            // The pod is gone, then the whole first slice.
            client.resource(slice("orders-abc", "orders", 8080, endpoint("10.1.0.2", "zone-b", true, true, false)))
                    .update();
            await().atMost(Duration.ofSeconds(30))
                    .untilAsserted(() -> assertThat(servers(lb)).containsOnlyKeys("10.1.0.2:8080", "10.1.0.4:8080"));
            client.resource(slice("orders-abc", "orders", 8080)).delete();
            await().atMost(Duration.ofSeconds(30))
                    .untilAsserted(() -> assertThat(servers(lb)).containsOnlyKeys("10.1.0.4:8080"));
            assertThat(lb.pool().get("10.1.0.4:8080").orElseThrow().server().source())
                    .contains("kubernetes://shop/orders");
        }
    }

    @Test
    void badNames_refusedNamingTheField() {
        assertThatThrownBy(() -> KubernetesServerSource.builder("Shop", "orders"))
                .hasMessage("namespace: 'Shop' (expected: a DNS-1123 label: lowercase letters, digits, '-')");
        assertThatThrownBy(() -> KubernetesServerSource.builder("shop", "orders_v2"))
                .hasMessageStartingWith("service: 'orders_v2'");
        assertThatThrownBy(
                        () -> KubernetesServerSource.builder("shop", "orders").portName("HTTP"))
                .hasMessageStartingWith("portName: 'HTTP'");
        try (KubernetesServerSource ok = KubernetesServerSource.builder("shop", "orders-v2")
                .client(client)
                .portName("http")
                .build()) {
            assertThat(ok.name()).isEqualTo("kubernetes://shop/orders-v2");
        }
    }
}
