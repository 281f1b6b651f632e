package io.raftkv.auth;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

import static io.raftkv.auth.AuthStore.readString;
import static io.raftkv.auth.AuthStore.writeString;

/** The binary form of an {@link AuthOp} inside a log entry: a tag byte, then its fields. */
public final class AuthOpCodec {
    private AuthOpCodec() {}

    public static void write(DataOutputStream out, AuthOp op) throws IOException {
        switch (op) {
            case AuthOp.UserAdd a -> {
                out.writeByte(1);
                writeString(out, a.name());
                writeString(out, a.passwordHash());
            }
            case AuthOp.UserDelete d -> {
                out.writeByte(2);
                writeString(out, d.name());
            }
            case AuthOp.UserPasswd p -> {
                out.writeByte(3);
                writeString(out, p.name());
                writeString(out, p.passwordHash());
            }
            case AuthOp.UserGrantRole g -> {
                out.writeByte(4);
                writeString(out, g.name());
                writeString(out, g.role());
            }
            case AuthOp.UserRevokeRole g -> {
                out.writeByte(5);
                writeString(out, g.name());
                writeString(out, g.role());
            }
            case AuthOp.RoleAdd a -> {
                out.writeByte(6);
                writeString(out, a.name());
            }
            case AuthOp.RoleDelete d -> {
                out.writeByte(7);
                writeString(out, d.name());
            }
            case AuthOp.RoleGrant g -> {
                out.writeByte(8);
                writeString(out, g.role());
                writeString(out, g.prefix());
                out.writeByte(g.permission().ordinal());
            }
            case AuthOp.RoleRevoke r -> {
                out.writeByte(9);
                writeString(out, r.role());
                writeString(out, r.prefix());
            }
            case AuthOp.Enable e -> {
                out.writeByte(10);
                out.writeInt(e.signingKey().length);
                out.write(e.signingKey());
                out.writeLong(e.tokenTtlMs());
            }
            case AuthOp.Disable d -> out.writeByte(11);
        }
    }

    /** Throws IllegalArgumentException (bad fields) or IOException (cut short). */
    public static AuthOp read(DataInputStream in, int maxBytes) throws IOException {
        int tag = in.readUnsignedByte();
        return switch (tag) {
            case 1 -> new AuthOp.UserAdd(readString(in, maxBytes), readString(in, maxBytes));
            case 2 -> new AuthOp.UserDelete(readString(in, maxBytes));
            case 3 -> new AuthOp.UserPasswd(readString(in, maxBytes), readString(in, maxBytes));
            case 4 -> new AuthOp.UserGrantRole(readString(in, maxBytes), readString(in, maxBytes));
            case 5 -> new AuthOp.UserRevokeRole(readString(in, maxBytes), readString(in, maxBytes));
            case 6 -> new AuthOp.RoleAdd(readString(in, maxBytes));
            case 7 -> new AuthOp.RoleDelete(readString(in, maxBytes));
            case 8 -> {
                String role = readString(in, maxBytes);
                String prefix = readString(in, maxBytes);
                int p = in.readUnsignedByte();
                if (p >= AuthOp.Permission.values().length) throw new IllegalArgumentException("unknown permission " + p);
                yield new AuthOp.RoleGrant(role, prefix, AuthOp.Permission.values()[p]);
            }
            case 9 -> new AuthOp.RoleRevoke(readString(in, maxBytes), readString(in, maxBytes));
            case 10 -> {
                int len = in.readInt();
                if (len < 0 || len > 1024) throw new IllegalArgumentException("impossible signing key length " + len);
                byte[] key = in.readNBytes(len);
                yield new AuthOp.Enable(key, in.readLong());
            }
            case 11 -> new AuthOp.Disable();
            default -> throw new IllegalArgumentException("unknown auth operation " + tag);
        };
    }
}
