package io.raftkv.sim;

import io.raftkv.kv.KvCommand;

/**
 * A client request on the simulated wire, what {@code POST /put}, {@code /append},
 * {@code /session} and {@code GET /get} carry. {@code hops} counts forwards between nodes
 * (ClientRequests' {@code X-Raftkv-Hops} header).
 */
record ClientRequest(Kind kind, String key, String value, long clientId, long seq, int hops) {
    enum Kind { PUT, APPEND, GET, REGISTER }

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
        return new ClientRequest(kind, key, value, clientId, seq, hops + 1);
    }

    /** The command a node proposes for this write (timestamp added by the proposing leader). */
    KvCommand command() {
        return switch (kind) {
            case PUT -> new KvCommand(KvCommand.Op.PUT, key, value, clientId, seq, 0);
            case APPEND -> new KvCommand(KvCommand.Op.APPEND, key, value, clientId, seq, 0);
            case REGISTER -> KvCommand.register();
            case GET -> throw new IllegalStateException("a get is not a command");
        };
    }

    @Override
    public String toString() {
        return switch (kind) {
            case GET -> "get(" + key + ")";
            case REGISTER -> "register";
            default -> kind.name().toLowerCase(java.util.Locale.ROOT) + "(" + key + ", " + value + ")"
                    + (clientId != 0 ? " c" + clientId + "#" + seq : "") + (hops > 0 ? " hops=" + hops : "");
        };
    }
}
