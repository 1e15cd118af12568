package dev.fairload.lb.kubernetes;

import dev.fairload.lb.Server;
import dev.fairload.lb.ServerSource;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditions;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link ServerSource} that follows the EndpointSlices of a Kubernetes service (those labelled {@code
 * kubernetes.io/service-name=SERVICE} in its namespace), through the fabric8 kubernetes-client.
 *
 * <p>Mapping: each address of each endpoint is a server on the slice's port (the port named with {@link
 * Builder#portName}, or the slice's first port). An endpoint that is {@code ready} (or whose readiness is not
 * given) is a server; one that is {@code serving} and {@code terminating} stays as a draining server (no new
 * requests; those in flight finish); any other is left out. The endpoint's {@code zone} is the server's zone.
 *
 * <p>Watching: an informer lists the slices, then watches them from the list's resource version; when the watch
 * ends or the server answers that the version is too old (410 Gone), it lists again and resumes. Each change
 * delivers the complete set, computed from the informer's store. While the API server cannot be reached, nothing
 * is delivered and the pool keeps its servers.
 *
 * <p>Thread safety: thread-safe; sets are delivered on the informer's thread, one at a time. {@link #close()}
 * stops the informer, and the client too if the source created it.
 */
public final class KubernetesServerSource implements ServerSource {
    private static final Logger log = LoggerFactory.getLogger(KubernetesServerSource.class);
    /** A DNS-1123 label, as namespaces and service names are. */
    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

    static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";

    private final KubernetesClient client;
    private final boolean ownsClient;
    private final String namespace;
    private final String service;
    private final String portName;
    private final String name;
    private final Object lock = new Object();
    private SharedIndexInformer<EndpointSlice> informer; // guarded by lock
    private boolean closed; // guarded by lock

    private KubernetesServerSource(Builder b) {
        this.ownsClient = b.client == null;
        this.client = ownsClient ? new KubernetesClientBuilder().build() : b.client;
        this.namespace = b.namespace;
        this.service = b.service;
        this.portName = b.portName;
        this.name = "kubernetes://" + namespace + "/" + service;
    }

    /**
     * Follows {@code service} in {@code namespace}.
     *
     * @throws IllegalArgumentException naming {@code namespace} or {@code service} if it is not a DNS-1123 label
     */
    public static Builder builder(String namespace, String service) {
        return new Builder(label("namespace", namespace), label("service", service));
    }

    private static String label(String field, String value) {
        Objects.requireNonNull(value, field);
        if (!LABEL.matcher(value).matches()) {
            throw new IllegalArgumentException(
                    field + ": '" + value + "' (expected: a DNS-1123 label: lowercase letters, digits, '-')");
        }
        return value;
    }

    /** {@code kubernetes://NAMESPACE/SERVICE}. */
    @Override
    public String name() {
        return name;
    }

    @Override
    public void start(Listener listener) {
        Objects.requireNonNull(listener, "listener");
        synchronized (lock) {
            if (informer != null) {
                throw new IllegalStateException("already started");
            }
            if (closed) {
                return;
            }
            informer = client.discovery()
                    .v1()
                    .endpointSlices()
                    .inNamespace(namespace)
                    .withLabel(SERVICE_NAME_LABEL, service)
                    .runnableInformer(0);
            SharedIndexInformer<EndpointSlice> started = informer;
            informer.addEventHandler(new ResourceEventHandler<>() {
                @Override
                public void onAdd(EndpointSlice slice) {
                    deliver(started, listener);
                }

                @Override
                public void onUpdate(EndpointSlice before, EndpointSlice after) {
                    deliver(started, listener);
                }

                @Override
                public void onDelete(EndpointSlice slice, boolean finalStateUnknown) {
                    deliver(started, listener);
                }

                @Override
                public void onNothing() {
                    deliver(started, listener); // a list with no slice: the service has no endpoints
                }
            });
            informer.start().whenComplete((ignored, failure) -> {
                if (failure != null) {
                    log.warn("{}: cannot list EndpointSlices yet ({}); retrying", name, failure.toString());
                }
            });
        }
    }

    private void deliver(SharedIndexInformer<EndpointSlice> from, Listener listener) {
        synchronized (lock) {
            if (closed) {
                return;
            }
        }
        Map<String, Server> servers = new LinkedHashMap<>();
        Set<String> draining = new HashSet<>();
        for (EndpointSlice slice : from.getStore().list()) {
            Integer port = port(slice);
            if (port == null || slice.getEndpoints() == null) {
                continue;
            }
            for (Endpoint endpoint : slice.getEndpoints()) {
                EndpointConditions c = endpoint.getConditions();
                boolean ready = c == null || c.getReady() == null || c.getReady();
                boolean drainingNow = !ready
                        && c != null
                        && Boolean.TRUE.equals(c.getServing())
                        && Boolean.TRUE.equals(c.getTerminating());
                if (!ready && !drainingNow) {
                    continue;
                }
                for (String address : endpoint.getAddresses()) {
                    Server.Builder b = Server.builder(address, port).id((address + ":" + port).replace('%', '.'));
                    if (endpoint.getZone() != null && !endpoint.getZone().isEmpty()) {
                        b.zone(endpoint.getZone());
                    }
                    Server server;
                    try {
                        server = b.build();
                    } catch (IllegalArgumentException e) {
                        log.warn("{}: endpoint address {} skipped: {}", name, address, e.getMessage());
                        continue;
                    }
                    if (servers.putIfAbsent(server.authority(), server) == null && drainingNow) {
                        draining.add(server.id());
                    }
                }
            }
        }
        List<Server> sorted = new ArrayList<>(servers.values());
        sorted.sort(Comparator.comparing(Server::authority));
        log.debug("{}: {} servers, {} draining", name, sorted.size(), draining.size());
        listener.update(List.copyOf(sorted), Set.copyOf(draining));
    }

    private Integer port(EndpointSlice slice) {
        if (slice.getPorts() == null) {
            return null;
        }
        for (EndpointPort p : slice.getPorts()) {
            if (p.getPort() != null && (portName == null || portName.equals(p.getName()))) {
                return p.getPort();
            }
        }
        return null;
    }

    /** Stops watching (and closes the client if this source created it). Idempotent. */
    @Override
    public void close() {
        SharedIndexInformer<EndpointSlice> running;
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            running = informer;
        }
        if (running != null) {
            running.close();
        }
        if (ownsClient) {
            client.close();
        }
    }

    @Override
    public String toString() {
        return "KubernetesServerSource{" + name + (portName == null ? "" : " port " + portName) + "}";
    }

    /** Builder for {@link KubernetesServerSource}. Not thread-safe. */
    public static final class Builder {
        private final String namespace;
        private final String service;
        private KubernetesClient client;
        private String portName;

        private Builder(String namespace, String service) {
            this.namespace = namespace;
            this.service = service;
        }

        /**
         * The client to watch with (not closed by the source); default a client configured as fabric8 does it
         * (in-cluster service account, or {@code ~/.kube/config}), closed by {@link #close()}.
         */
        public Builder client(KubernetesClient client) {
            this.client = Objects.requireNonNull(client, "client");
            return this;
        }

        /** The name of the port to use (as in the Service); default the slice's first port. */
        public Builder portName(String portName) {
            this.portName = label("portName", portName);
            return this;
        }

        public KubernetesServerSource build() {
            return new KubernetesServerSource(this);
        }
    }
}
