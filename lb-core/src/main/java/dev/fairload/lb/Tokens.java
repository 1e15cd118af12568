package dev.fairload.lb;

import dev.fairload.lb.internal.pick.Hashing;

/** Sticky tokens: 16 hex digits of a salted 64-bit hash of {@code host:port}. */
final class Tokens {
    private static final String SALT = "fairload-sticky-v1:";

    private Tokens() {}

    static String of(String authority) {
        String hex = Long.toHexString(Hashing.hash(SALT + authority));
        return "0".repeat(16 - hex.length()) + hex;
    }
}
