package io.raftkv.auth;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import com.auth0.jwt.exceptions.JWTVerificationException;
import com.auth0.jwt.exceptions.TokenExpiredException;
import com.auth0.jwt.interfaces.DecodedJWT;

import java.time.Instant;
import java.util.Optional;

/**
 * Bearer tokens: JWTs (Auth0's java-jwt) signed with HMAC-SHA256 by the replicated signing key, so
 * every node checks a token on its own, without a round trip. A token names its user and the
 * user's generation (the index of its last password change): deleting the user, changing its
 * password or turning authentication off and on again ends its tokens at once on every node that
 * applied the change. Roles are looked up per request, so grants take effect at once too.
 */
public final class Tokens {
    private static final String ISSUER = "raftkv";

    private Tokens() {}

    /** A token for {@code user} valid until {@code now + ttl}. */
    public static String issue(AuthStore store, String user, Instant now) {
        AuthStore.User u = store.user(user).orElseThrow();
        return JWT.create().withIssuer(ISSUER).withSubject(user).withClaim("gen", u.generation())
                .withIssuedAt(now).withExpiresAt(now.plusMillis(store.tokenTtlMs()))
                .sign(Algorithm.HMAC256(store.signingKey()));
    }

    /** Who a token speaks for, or why it is refused (a message for a 401). */
    public sealed interface Check {
        record Valid(String user) implements Check {}

        record Invalid(String why) implements Check {}
    }

    public static Check check(AuthStore store, String token, Instant now) {
        if (!store.enabled()) return new Check.Invalid("authentication is off");
        DecodedJWT jwt;
        try {
            jwt = JWT.require(Algorithm.HMAC256(store.signingKey())).withIssuer(ISSUER)
                    .build().verify(token);
        } catch (TokenExpiredException e) {
            return new Check.Invalid("the token expired at " + e.getExpiredOn() + "; log in again (POST /auth/login)");
        } catch (JWTVerificationException e) {
            return new Check.Invalid("the token is not valid here (" + e.getMessage()
                    + "); log in again (POST /auth/login)");
        }
        String user = jwt.getSubject();
        Optional<AuthStore.User> u = user == null ? Optional.empty() : store.user(user);
        if (u.isEmpty()) return new Check.Invalid("user " + user + " no longer exists");
        Long gen = jwt.getClaim("gen").asLong();
        if (gen == null || gen != u.get().generation()) {
            return new Check.Invalid("the password of user " + user + " changed since this token was issued; log in again");
        }
        if (jwt.getExpiresAtAsInstant() != null && !now.isBefore(jwt.getExpiresAtAsInstant())) {
            return new Check.Invalid("the token expired at " + jwt.getExpiresAtAsInstant() + "; log in again (POST /auth/login)");
        }
        return new Check.Valid(user);
    }
}
