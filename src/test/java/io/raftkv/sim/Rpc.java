package io.raftkv.sim;

/**
 * One client request in flight on a simulated connection: from a client (or a node forwarding to
 * the leader) to a node, answered once. The caller gives up with {@link #abandon()} when its own
 * timeout fires; a crash of the node serving it fails the connection.
 */
final class Rpc {
    /** How a connection failed; both are IOExceptions to the Java client. */
    enum Failure {
        /** Nobody listens at the address: nothing was sent (ConnectException). */
        CONNECT_REFUSED,
        /** The connection broke after the request was sent: its outcome is unknown. */
        CONNECTION_LOST
    }

    interface Listener {
        void onReply(ClientReply reply);

        void onFailure(Failure failure);
    }

    final long id;
    final int caller;
    final int callee;
    final ClientRequest request;
    private final Listener listener;
    private boolean finished;

    Rpc(long id, int caller, int callee, ClientRequest request, Listener listener) {
        this.id = id;
        this.caller = caller;
        this.callee = callee;
        this.request = request;
        this.listener = listener;
    }

    boolean finished() {
        return finished;
    }

    /** The caller stops waiting (its timeout): a late answer is ignored. */
    void abandon() {
        finished = true;
    }

    void complete(ClientReply reply) {
        if (finished) return;
        finished = true;
        listener.onReply(reply);
    }

    void fail(Failure failure) {
        if (finished) return;
        finished = true;
        listener.onFailure(failure);
    }
}
