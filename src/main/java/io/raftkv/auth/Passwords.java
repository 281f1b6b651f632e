package io.raftkv.auth;

import org.bouncycastle.crypto.generators.OpenBSDBCrypt;

import java.security.SecureRandom;

/**
 * Password hashes: bcrypt (Bouncy Castle's {@link OpenBSDBCrypt}, the library already used for
 * certificates), cost 10, a random salt each. Hashing and checking cost tens of milliseconds by
 * design: never on a node's event loop.
 */
public final class Passwords {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int COST = 10;

    private Passwords() {}

    public static String hash(String password) {
        check(password);
        byte[] salt = new byte[16];
        RANDOM.nextBytes(salt);
        return OpenBSDBCrypt.generate("2b", password.toCharArray(), salt, COST);
    }

    /** Whether {@code password} is the one {@code hash} was made from. */
    public static boolean matches(String hash, String password) {
        try {
            return OpenBSDBCrypt.checkPassword(hash, password.toCharArray());
        } catch (IllegalArgumentException e) {
            return false; // not a bcrypt hash, or a password bcrypt cannot take
        }
    }

    /** bcrypt reads at most 72 bytes: a longer password would be cut without a word. */
    public static void check(String password) {
        if (password == null || password.isEmpty()) throw new IllegalArgumentException("the password is empty");
        if (password.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 72) {
            throw new IllegalArgumentException("a password is at most 72 bytes (UTF-8)");
        }
    }
}
