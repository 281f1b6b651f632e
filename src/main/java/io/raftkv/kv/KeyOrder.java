package io.raftkv.kv;

import java.util.Comparator;

/**
 * Keys in byte order of their UTF-8 encoding, as etcd orders them: the same as Unicode code point
 * order, which differs from {@link String#compareTo} (UTF-16 units) for characters above U+FFFF
 * against those in U+E000..U+FFFF.
 */
public final class KeyOrder {
    public static final Comparator<String> UTF8 = KeyOrder::compare;

    private KeyOrder() {}

    public static int compare(String a, String b) {
        int n = Math.min(a.length(), b.length());
        for (int i = 0; i < n; i++) {
            char x = a.charAt(i);
            char y = b.charAt(i);
            if (x == y) continue;
            // Surrogates (U+D800..U+DFFF) encode code points above U+FFFF: they sort after every other char.
            boolean sx = Character.isSurrogate(x);
            boolean sy = Character.isSurrogate(y);
            if (sx != sy) return sx ? 1 : -1;
            return Character.compare(x, y);
        }
        return Integer.compare(a.length(), b.length());
    }
}
