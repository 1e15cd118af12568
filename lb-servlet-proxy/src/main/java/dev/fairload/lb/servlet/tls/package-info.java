/**
 * What the proxy tells about its TLS certificates, with no dependency beyond the JDK: {@link
 * dev.fairload.lb.servlet.tls.CertificateInfo}. TLS termination itself needs Jetty and lives with the standalone
 * launcher, in {@code dev.fairload.lb.servlet.standalone.tls}.
 */
package dev.fairload.lb.servlet.tls;
