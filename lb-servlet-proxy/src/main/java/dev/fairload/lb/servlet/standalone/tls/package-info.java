/**
 * TLS termination for the standalone proxy on Jetty 12: {@link dev.fairload.lb.servlet.standalone.tls.TlsTermination}
 * (HTTPS listener, certificates from PEM, PKCS#12 or a directory, SNI, rotation, live configuration). See {@code
 * docs/tls.md}.
 */
package dev.fairload.lb.servlet.standalone.tls;
