package io.raftkv.auth;

import java.util.Objects;

/**
 * A change of the users, roles and grants, or of whether authentication is on (etcd's auth
 * model). It goes through the log like a write, so every node applies the same changes in the same
 * order and a snapshot carries the result ({@link AuthStore}). Passwords travel only as hashes,
 * made by the node that takes the request ({@link Passwords}).
 */
public sealed interface AuthOp {
    /** A new user with this password hash and no role. */
    record UserAdd(String name, String passwordHash) implements AuthOp {
        public UserAdd {
            Names.check("user", name);
            Objects.requireNonNull(passwordHash, "passwordHash");
        }
    }

    /** Removes a user: its tokens stop working at once. */
    record UserDelete(String name) implements AuthOp {
        public UserDelete {
            Names.check("user", name);
        }
    }

    /** A new password: the user's tokens stop working at once. */
    record UserPasswd(String name, String passwordHash) implements AuthOp {
        public UserPasswd {
            Names.check("user", name);
            Objects.requireNonNull(passwordHash, "passwordHash");
        }
    }

    record UserGrantRole(String name, String role) implements AuthOp {
        public UserGrantRole {
            Names.check("user", name);
            Names.check("role", role);
        }
    }

    record UserRevokeRole(String name, String role) implements AuthOp {
        public UserRevokeRole {
            Names.check("user", name);
            Names.check("role", role);
        }
    }

    record RoleAdd(String name) implements AuthOp {
        public RoleAdd {
            Names.check("role", name);
        }
    }

    record RoleDelete(String name) implements AuthOp {
        public RoleDelete {
            Names.check("role", name);
        }
    }

    /** Lets {@code role} read, or read and write, every key starting with {@code prefix} ("" for all). */
    record RoleGrant(String role, String prefix, Permission permission) implements AuthOp {
        public RoleGrant {
            Names.check("role", role);
            Objects.requireNonNull(prefix, "prefix");
            Objects.requireNonNull(permission, "permission");
        }
    }

    /** Takes back what {@code role} was granted on {@code prefix}. */
    record RoleRevoke(String role, String prefix) implements AuthOp {
        public RoleRevoke {
            Names.check("role", role);
            Objects.requireNonNull(prefix, "prefix");
        }
    }

    /**
     * Turns authentication on; tokens are signed with {@code signingKey} (drawn at random by the
     * node that took the request, so that every node can check a token without asking another) and
     * last {@code tokenTtlMs}.
     */
    record Enable(byte[] signingKey, long tokenTtlMs) implements AuthOp {
        public Enable {
            if (signingKey == null || signingKey.length < 32) throw new IllegalArgumentException("a signing key of 32 bytes or more");
            if (tokenTtlMs < 1000) throw new IllegalArgumentException("tokens last at least 1 s");
        }
    }

    record Disable() implements AuthOp {}

    /** What read or read-write on a prefix means. */
    enum Permission {
        READ("read"), READWRITE("readwrite");

        public final String label;

        Permission(String label) {
            this.label = label;
        }

        public static Permission of(String s) {
            for (Permission p : values()) if (p.label.equals(s)) return p;
            throw new IllegalArgumentException("permission must be read or readwrite, not '" + s + "'");
        }

        public boolean allows(Permission wanted) {
            return this == READWRITE || wanted == READ;
        }
    }

    /** User and role names: letters, digits, '.', '_', '-', 1 to 64. */
    final class Names {
        private Names() {}

        public static void check(String what, String name) {
            if (name == null || !name.matches("[A-Za-z0-9._-]{1,64}")) {
                throw new IllegalArgumentException("a " + what + " name is 1 to 64 letters, digits, '.', '_' or '-', not '"
                        + name + "'");
            }
        }
    }
}
