package io.raftkv.auth;

import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvOp;
import io.raftkv.kv.KvStateMachine;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

/** The replicated auth state: its rules, its snapshot, and the tokens it signs. */
class AuthStoreTest {
    private static final byte[] KEY = new byte[32];

    private static ApplyResult.AuthChanged apply(KvStateMachine sm, long index, AuthOp op) {
        return (ApplyResult.AuthChanged) sm.apply(index, KvCommand.of(new KvOp.Auth(op), 0, 0));
    }

    @Test
    void enablingNeedsRootAndRolesDecideWhatAUserMayDo() {
        KvStateMachine sm = new KvStateMachine();
        assertThat(apply(sm, 1, new AuthOp.Enable(KEY, 60_000)).status()).isEqualTo(409);
        assertThat(sm.auth().enabled()).isFalse();
        assertThat(apply(sm, 2, new AuthOp.UserAdd("root", Passwords.hash("secret"))).status()).isEqualTo(200);
        assertThat(apply(sm, 3, new AuthOp.UserAdd("alice", Passwords.hash("pw"))).status()).isEqualTo(200);
        assertThat(apply(sm, 4, new AuthOp.UserAdd("alice", "x")).status()).isEqualTo(409);
        assertThat(apply(sm, 5, new AuthOp.RoleAdd("app")).status()).isEqualTo(200);
        assertThat(apply(sm, 6, new AuthOp.RoleGrant("app", "app/", AuthOp.Permission.READWRITE)).status()).isEqualTo(200);
        assertThat(apply(sm, 7, new AuthOp.RoleGrant("app", "config/", AuthOp.Permission.READ)).status()).isEqualTo(200);
        assertThat(apply(sm, 8, new AuthOp.UserGrantRole("alice", "nope")).status()).isEqualTo(404);
        assertThat(apply(sm, 9, new AuthOp.UserGrantRole("alice", "app")).status()).isEqualTo(200);
        assertThat(apply(sm, 10, new AuthOp.Enable(KEY, 60_000)).status()).isEqualTo(200);
        AuthStore a = sm.auth();
        assertThat(a.enabled()).isTrue();
        assertThat(a.isRoot("root")).isTrue();
        assertThat(a.isRoot("alice")).isFalse();
        var RW = AuthOp.Permission.READWRITE;
        var R = AuthOp.Permission.READ;
        assertThat(a.allows("alice", RW, "app/x", false, null)).isTrue();
        assertThat(a.allows("alice", R, "config/db", false, null)).isTrue();
        assertThat(a.allows("alice", RW, "config/db", false, null)).isFalse();
        assertThat(a.allows("alice", R, "other", false, null)).isFalse();
        assertThat(a.allows("alice", R, "app/", true, null)).isTrue();
        assertThat(a.allows("alice", R, "ap", true, null)).as("a wider prefix than granted").isFalse();
        assertThat(a.allows("alice", R, "app/a", false, "app/z")).isTrue();
        assertThat(a.allows("alice", R, "app/a", false, "b")).as("a range past the prefix").isFalse();
        assertThat(a.allows("alice", R, "app/a", false, "")).as("to the last key").isFalse();
        assertThat(a.allows("root", RW, "anything", true, null)).isTrue();
        assertThat(a.allows("nobody", R, "app/x", false, null)).isFalse();
        // root cannot be removed while auth is on
        assertThat(apply(sm, 11, new AuthOp.UserDelete("root")).status()).isEqualTo(409);
        assertThat(apply(sm, 12, new AuthOp.UserRevokeRole("root", "root")).status()).isEqualTo(409);
        // deleting a role takes it from its users
        assertThat(apply(sm, 13, new AuthOp.RoleDelete("app")).status()).isEqualTo(200);
        assertThat(a.allows("alice", R, "app/x", false, null)).isFalse();
        assertThat(a.user("alice").orElseThrow().roles()).isEmpty();
    }

    @Test
    void aSnapshotCarriesUsersRolesAndTheSigningKey() {
        KvStateMachine sm = new KvStateMachine();
        apply(sm, 1, new AuthOp.UserAdd("root", Passwords.hash("secret")));
        apply(sm, 2, new AuthOp.RoleAdd("r"));
        apply(sm, 3, new AuthOp.RoleGrant("r", "k", AuthOp.Permission.READ));
        apply(sm, 4, new AuthOp.UserAdd("bob", Passwords.hash("pw")));
        apply(sm, 5, new AuthOp.UserGrantRole("bob", "r"));
        byte[] key = new byte[32];
        key[0] = 7;
        apply(sm, 6, new AuthOp.Enable(key, 120_000));
        KvStateMachine copy = new KvStateMachine();
        copy.restore(sm.snapshot());
        AuthStore a = copy.auth();
        assertThat(a.enabled()).isTrue();
        assertThat(a.signingKey()).isEqualTo(key);
        assertThat(a.tokenTtlMs()).isEqualTo(120_000);
        assertThat(a.userNames()).containsExactly("bob", "root");
        assertThat(a.user("bob").orElseThrow().roles()).containsExactly("r");
        assertThat(a.roles()).containsOnlyKeys("r");
        assertThat(a.allows("bob", AuthOp.Permission.READ, "kx", false, null)).isTrue();
        assertThat(Passwords.matches(a.user("bob").orElseThrow().passwordHash(), "pw")).isTrue();
        assertThat(Passwords.matches(a.user("bob").orElseThrow().passwordHash(), "wrong")).isFalse();
        // the snapshot of the copy is the same bytes: nothing lost or reordered
        assertThat(copy.snapshot()).isEqualTo(sm.snapshot());
    }

    @Test
    void tokensEndWithTheirUserTheirPasswordOrTheirTime() {
        KvStateMachine sm = new KvStateMachine();
        apply(sm, 1, new AuthOp.UserAdd("root", Passwords.hash("secret")));
        apply(sm, 2, new AuthOp.UserAdd("bob", Passwords.hash("pw")));
        apply(sm, 3, new AuthOp.Enable(KEY, 60_000));
        AuthStore a = sm.auth();
        Instant now = Instant.now();
        String token = Tokens.issue(a, "bob", now);
        assertThat(Tokens.check(a, token, now)).isEqualTo(new Tokens.Check.Valid("bob"));
        assertThat(Tokens.check(a, token, now.plus(Duration.ofMinutes(2)))).isInstanceOf(Tokens.Check.Invalid.class);
        assertThat(Tokens.check(a, token + "x", now)).isInstanceOf(Tokens.Check.Invalid.class);
        apply(sm, 4, new AuthOp.UserPasswd("bob", Passwords.hash("new")));
        assertThat(((Tokens.Check.Invalid) Tokens.check(a, token, now)).why()).contains("password");
        String second = Tokens.issue(a, "bob", now);
        apply(sm, 5, new AuthOp.UserDelete("bob"));
        assertThat(((Tokens.Check.Invalid) Tokens.check(a, second, now)).why()).contains("no longer exists");
        String rootToken = Tokens.issue(a, "root", now);
        byte[] other = new byte[32];
        other[31] = 1;
        apply(sm, 6, new AuthOp.Enable(other, 60_000)); // a new signing key: every earlier token ends
        assertThat(Tokens.check(a, rootToken, now)).isInstanceOf(Tokens.Check.Invalid.class);
    }
}
