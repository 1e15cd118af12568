package dev.fairload.lb.internal.pick;

/** 64-bit string hashing without allocation: FNV-1a over the UTF-16 code units, then MurmurHash3's finalizer. */
public final class Hashing {
    private Hashing() {}

    public static long hash(CharSequence s) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0, n = s.length(); i < n; i++) {
            h ^= s.charAt(i);
            h *= 0x100000001b3L;
        }
        return mix(h);
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
