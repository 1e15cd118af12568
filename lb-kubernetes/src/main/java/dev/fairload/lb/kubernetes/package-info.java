/** Kubernetes discovery: {@link dev.fairload.lb.kubernetes.KubernetesServerSource} follows a service's EndpointSlices. */
package dev.fairload.lb.kubernetes;
