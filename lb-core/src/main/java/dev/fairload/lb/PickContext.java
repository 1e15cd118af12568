package dev.fairload.lb;

import java.util.Arrays;
import java.util.Objects;

/**
 * What a pick may look at for one request attempt: the client's address (for {@code ip_hash}), a hash key
 * (for {@code consistent_hash}), a session key (for sticky sessions) and the servers this request already
 * tried (so a retry goes elsewhere).
 *
 * <p>Immutable and thread-safe. {@link #withExcluded(Server)} returns a copy; {@link #empty()} is shared.
 */
public final class PickContext {
    private static final String[] NONE = new String[0];
    private static final PickContext EMPTY = new PickContext(null, null, null, null, NONE);

    private final String clientAddress;
    private final String hashKey;
    private final String sessionKey;
    private final String stickyToken;
    private final String[] excludedIds;

    private PickContext(
            String clientAddress, String hashKey, String sessionKey, String stickyToken, String[] excludedIds) {
        this.clientAddress = clientAddress;
        this.hashKey = hashKey;
        this.sessionKey = sessionKey;
        this.stickyToken = stickyToken;
        this.excludedIds = excludedIds;
    }

    /** A context with nothing in it: no address, no keys, nothing excluded. */
    public static PickContext empty() {
        return EMPTY;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The client's address as text (IPv4 or IPv6), or null. */
    public String clientAddress() {
        return clientAddress;
    }

    /** The key {@code consistent_hash} hashes (a header, cookie or path value), or null. */
    public String hashKey() {
        return hashKey;
    }

    /** The sticky-session key, or null. */
    public String sessionKey() {
        return sessionKey;
    }

    /** A {@link Server#stickyToken()} from a balancer-set cookie, or null. */
    public String stickyToken() {
        return stickyToken;
    }

    /** A builder holding this context's values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.clientAddress = clientAddress;
        b.hashKey = hashKey;
        b.sessionKey = sessionKey;
        b.stickyToken = stickyToken;
        b.excludedIds = excludedIds;
        return b;
    }

    /** How many servers this attempt must avoid. */
    public int excludedCount() {
        return excludedIds.length;
    }

    /** Whether the server with this id was already tried. Cost: O(number excluded). */
    public boolean isExcluded(String serverId) {
        for (String id : excludedIds) {
            if (id.equals(serverId)) {
                return true;
            }
        }
        return false;
    }

    /** A copy that also excludes {@code server}. */
    public PickContext withExcluded(Server server) {
        Objects.requireNonNull(server, "server");
        if (isExcluded(server.id())) {
            return this;
        }
        String[] ids = Arrays.copyOf(excludedIds, excludedIds.length + 1);
        ids[excludedIds.length] = server.id();
        return new PickContext(clientAddress, hashKey, sessionKey, stickyToken, ids);
    }

    @Override
    public String toString() {
        return "PickContext{client=" + clientAddress + ", hashKey=" + hashKey + ", session="
                + (sessionKey == null ? "none" : "set") + ", sticky=" + stickyToken + ", excluded="
                + Arrays.toString(excludedIds) + "}";
    }

    /** Builder for {@link PickContext}. Not thread-safe; {@link #build()} may be called again. */
    public static final class Builder {
        private String clientAddress;
        private String hashKey;
        private String sessionKey;
        private String stickyToken;
        private String[] excludedIds = NONE;

        private Builder() {}

        public Builder clientAddress(String clientAddress) {
            this.clientAddress = clientAddress;
            return this;
        }

        public Builder hashKey(String hashKey) {
            this.hashKey = hashKey;
            return this;
        }

        public Builder sessionKey(String sessionKey) {
            this.sessionKey = sessionKey;
            return this;
        }

        /** Prefer the server with this {@link Server#stickyToken()} while it is healthy. */
        public Builder stickyToken(String stickyToken) {
            this.stickyToken = stickyToken;
            return this;
        }

        public Builder exclude(Server server) {
            Objects.requireNonNull(server, "server");
            excludedIds = Arrays.copyOf(excludedIds, excludedIds.length + 1);
            excludedIds[excludedIds.length - 1] = server.id();
            return this;
        }

        public PickContext build() {
            if (clientAddress == null
                    && hashKey == null
                    && sessionKey == null
                    && stickyToken == null
                    && excludedIds.length == 0) {
                return EMPTY;
            }
            return new PickContext(clientAddress, hashKey, sessionKey, stickyToken, excludedIds.clone());
        }
    }
}
