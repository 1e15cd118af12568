/**
 * DNS discovery: {@link dev.fairload.lb.dns.DnsServerSource} follows A/AAAA or SRV records. Needs {@code
 * dnsjava:dnsjava} on the class path (an optional dependency of lb-core).
 */
package dev.fairload.lb.dns;
