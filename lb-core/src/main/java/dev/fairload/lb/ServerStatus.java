package dev.fairload.lb;

import java.util.Locale;

/** Where a server stands. Only {@link #HEALTHY} servers are picked for new requests. */
public enum ServerStatus {
    /** Passing its checks (or not checked at all); takes traffic. */
    HEALTHY,
    /** Failing active checks or ejected by passive checks; takes no traffic until it recovers. */
    UNHEALTHY,
    /** Not checked yet; takes no traffic until its first check passes. */
    UNKNOWN,
    /** Being taken out: takes no new requests, sticky ones included, while its in-flight requests finish. */
    DRAINING;

    /** The lower-case name used in the admin API ({@code healthy}, {@code unhealthy}, ...). */
    public String jsonName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
