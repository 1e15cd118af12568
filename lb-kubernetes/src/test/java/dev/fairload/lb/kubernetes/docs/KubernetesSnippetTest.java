package dev.fairload.lb.kubernetes.docs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairload.lb.Discovery;
import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.kubernetes.KubernetesServerSource;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * docs/discovery.md's Kubernetes snippet, from outside the module's package as a user writes it, against
 * fabric8's mock API server (this test's client in place of the in-cluster one).
 */
@EnableKubernetesMockClient(crud = true)
class KubernetesSnippetTest {
    KubernetesMockServer server;
    KubernetesClient client;

    @Test
    void docsSnippet_putsTheEndpointsOfTheServicesNamedPortInThePool() throws Exception {
        client.resource(new EndpointSliceBuilder()
                        .withNewMetadata()
                        .withName("orders-abc")
                        .withNamespace("shop")
                        .addToLabels("kubernetes.io/service-name", "orders")
                        .endMetadata()
                        .withAddressType("IPv4")
                        .addNewPort()
                        .withName("metrics")
                        .withPort(9090)
                        .withProtocol("TCP")
                        .endPort()
                        .addNewPort()
                        .withName("http")
                        .withPort(8080)
                        .withProtocol("TCP")
                        .endPort()
                        .addNewEndpoint()
                        .withAddresses("10.1.0.1")
                        .withNewConditions()
                        .withReady(true)
                        .endConditions()
                        .endEndpoint()
                        .build())
                .create();

        try (LoadBalancer lb = LoadBalancer.builder().build()) {
            try (KubernetesServerSource orders = KubernetesServerSource.builder("shop", "orders")
                            .portName("http") // default: the slice's first port
                            .client(client)
                            .build(); // in-cluster service account or ~/.kube/config; or .client(yourClient)
                    Discovery discovery = Discovery.attach(lb.pool(), orders)) {
                discovery.whenReady().get(30, TimeUnit.SECONDS);
                assertThat(lb.pool().list())
                        .extracting(v -> v.server().authority())
                        .containsExactly("10.1.0.1:8080");
            }
        }
    }
}
