package dev.fairload.lb.internal.pick;

/**
 * 64-bit string hashing without allocation: four UTF-16 code units per multiply-xor step (so a 20-character
 * key costs five dependent multiplies, not twenty), then MurmurHash3's finalizer, which spreads every input bit
 * over the whole result. Stable across JVMs and releases of this library's major version: balancer instances
 * with the same servers map the same keys to the same servers.
 */
public final class Hashing {
    private Hashing() {}

    public static long hash(CharSequence s) {
        int n = s.length();
        long h = 0xcbf29ce484222325L ^ n;
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            long block = s.charAt(i)
                    | (long) s.charAt(i + 1) << 16
                    | (long) s.charAt(i + 2) << 32
                    | (long) s.charAt(i + 3) << 48;
            h = Long.rotateLeft((h ^ block) * 0x9e3779b97f4a7c15L, 29);
        }
        long tail = 0;
        for (int shift = 0; i < n; i++, shift += 16) {
            tail |= (long) s.charAt(i) << shift;
        }
        return mix((h ^ tail) * 0xc2b2ae3d27d4eb4fL);
    }

    /** MurmurHash3 fmix64: every input bit affects every output bit. */
    public static long mix(long h) {
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }

    /**
     * Maps a 64-bit hash onto [0, bound) by multiplying its high 32 bits by the bound (Lemire's reduction):
     * uniform for a well-mixed hash, and a multiplication instead of a 64-bit division on the pick path.
     */
    static int index(long hash, int bound) {
        return (int) (((hash >>> 32) * bound) >>> 32);
    }
}
