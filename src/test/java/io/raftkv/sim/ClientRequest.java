package io.raftkv.sim;

import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvOp;

import java.util.List;

/**
 * A client request on the simulated wire, what {@code POST /put}, {@code /append}, {@code /delete},
 * {@code /cas}, {@code /txn}, {@code /session} and {@code GET /get} carry. {@code hops} counts
 * forwards between nodes (ClientRequests' {@code X-Raftkv-Hops} header).
 *
 * <p>A cas compares the key's value with {@code expected} (null: expects the key absent) and
 * writes {@code value}; a txn is the one-key transaction "if the value is {@code expected} (null:
 * the key does not exist) then put {@code value} (null: delete the key) else get the key".
 */
record ClientRequest(Kind kind, String key, String value, String expected, long clientId, long seq, int hops) {
    enum Kind { PUT, APPEND, GET, REGISTER, DELETE, CAS, TXN }

    /** A request that compares nothing. */
    ClientRequest(Kind kind, String key, String value, long clientId, long seq, int hops) {
        this(kind, key, value, null, clientId, seq, hops);
    }

    static ClientRequest get(String key) {
        return new ClientRequest(Kind.GET, key, "", 0, 0, 0);
    }

    static ClientRequest register() {
        return new ClientRequest(Kind.REGISTER, "", "", 0, 0, 0);
    }

    boolean isWrite() {
        return kind != Kind.GET;
    }

    ClientRequest forwarded() {
        return new ClientRequest(kind, key, value, expected, clientId, seq, hops + 1);
    }

    /** This write in the session {@code clientId} with number {@code seq} (0, 0: no session). */
    ClientRequest inSession(long clientId, long seq) {
        return new ClientRequest(kind, key, value, expected, clientId, seq, hops);
    }

    /** The command a node proposes for this write (timestamp added by the proposing leader). */
    KvCommand command() {
        return switch (kind) {
            case PUT -> new KvCommand(KvCommand.Op.PUT, key, value, clientId, seq, 0);
            case APPEND -> new KvCommand(KvCommand.Op.APPEND, key, value, clientId, seq, 0);
            case REGISTER -> KvCommand.register();
            case DELETE -> KvCommand.of(new KvOp.Delete(key, false), clientId, seq);
            case CAS -> KvCommand.of(new KvOp.Cas(key, value,
                    expected == null ? new KvOp.Expect.Absent() : new KvOp.Expect.Value(expected), 0), clientId, seq);
            case TXN -> KvCommand.of(new KvOp.Txn(
                    List.of(expected == null
                            ? new KvOp.Compare(key, KvOp.Compare.Target.EXISTS, KvOp.Compare.CmpOp.EQ, false)
                            : new KvOp.Compare(key, KvOp.Compare.Target.VALUE, KvOp.Compare.CmpOp.EQ, expected)),
                    List.of(value == null ? new KvOp.Delete(key, false) : new KvOp.Put(key, value, 0)),
                    List.of(new KvOp.Get(key))), clientId, seq);
            case GET -> throw new IllegalStateException("a get is not a command");
        };
    }

    @Override
    public String toString() {
        String session = (clientId != 0 ? " c" + clientId + "#" + seq : "") + (hops > 0 ? " hops=" + hops : "");
        return switch (kind) {
            case GET -> "get(" + key + ")";
            case REGISTER -> "register";
            case DELETE -> "delete(" + key + ")" + session;
            case CAS, TXN -> kind.name().toLowerCase(java.util.Locale.ROOT) + "(" + key + ", if "
                    + (expected == null ? "absent" : expected) + " then " + (value == null ? "delete" : value) + ")"
                    + session;
            default -> kind.name().toLowerCase(java.util.Locale.ROOT) + "(" + key + ", " + value + ")" + session;
        };
    }
}
