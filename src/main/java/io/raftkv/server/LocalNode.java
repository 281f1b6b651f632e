package io.raftkv.server;

import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvCommand;
import io.raftkv.node.ReadOutcome;
import io.raftkv.node.RpcReply;
import io.raftkv.node.TransferOutcome;
import io.raftkv.node.WriteOutcome;
import io.raftkv.raft.Message;
import io.raftkv.transport.HostPort;

import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;

/**
 * What the HTTP layer ({@link HttpApi}, {@link ClientRequests}) needs from the node it serves:
 * {@link RaftServer} through {@link #of}, a stub in tests (a loop that never answers, a failed
 * future, a node cut off from its leader) without starting a cluster.
 */
interface LocalNode {
    NodeConfig config();

    StatusSnapshot status();

    CompletableFuture<WriteOutcome<ApplyResult>> propose(KvCommand cmd);

    CompletableFuture<ReadOutcome<Optional<io.raftkv.kv.KeyValue>>> read(String key);

    CompletableFuture<ReadOutcome<Optional<io.raftkv.kv.KeyValue>>> readStale(String key);

    /** A page of keys: linearizable (ReadIndex) or this node's applied state. */
    CompletableFuture<ReadOutcome<io.raftkv.kv.KvStateMachine.Range>> range(RangeQuery q, boolean linearizable);

    /** Leadership transfer (thesis §3.10) to {@code target}, or to the most caught-up voter. */
    CompletableFuture<TransferOutcome> transferLeader(OptionalInt target);

    /** A membership change (thesis ch. 4); completes once committed, refused, or of unknown fate. */
    CompletableFuture<io.raftkv.node.MembershipOutcome> changeMembership(io.raftkv.raft.ConfChange change);

    /** The membership as this node sees it (with each member's lag when it leads). */
    CompletableFuture<MembersView> members();

    Optional<HostPort> addressOf(int id);

    /** A lease's JSON view, linearizable. */
    CompletableFuture<ReadOutcome<Optional<com.fasterxml.jackson.databind.node.ObjectNode>>> lease(long id);

    /**
     * Starts a watch stream on {@code reply}, from this node's applied state, unless {@code max}
     * streams are open already: then false, and nothing was done.
     */
    boolean watch(WatchHub.Request req, ResponseOrder.Reply reply, int max);

    /** A peer's request, handed to the node's transport. */
    void deliverRpc(Message request, RpcReply reply);

    /** When this node last heard from a leader; read on every request that finds no leader, so cheap. */
    LeaderContact leaderContact();

    /** The node's cluster identity; a stub has none (its peer requests are not checked). */
    default Optional<ClusterIdentity> clusterIdentity() {
        return Optional.empty();
    }

    /** A peer request was refused (counted). */
    default void peerRefused(String reason) {
    }

    /** The applied users, roles and grants (an unchanging view, any thread); a stub's: auth off. */
    default io.raftkv.auth.AuthStore authStore() {
        return NO_AUTH;
    }

    io.raftkv.auth.AuthStore NO_AUTH = new io.raftkv.auth.AuthStore();

    /** Why this node cannot write now (its disk is full), or empty when it can. */
    default Optional<String> diskFull() {
        return Optional.empty();
    }

    /** The node's TLS ({@code --tls-cert}...): empty for plain HTTP (and for a stub). */
    default Optional<io.raftkv.security.NodeTls> tls() {
        return Optional.empty();
    }

    /** The node's metrics; a stub has none. */
    default NodeMetrics metrics() {
        return NodeMetrics.disabled();
    }

    /** The web view ({@code GET /ui}); a stub has none. */
    default Optional<WebUi> webUi() {
        return Optional.empty();
    }

    /**
     * The node's loop, where a peer's connection moves at its first peer RPC so that Raft's I/O
     * never waits behind clients; a stub has none (its connections stay where they are).
     */
    default Optional<io.netty.channel.EventLoop> nodeLoop() {
        return Optional.empty();
    }

    static LocalNode of(RaftServer server) {
        return new RaftServerNode(server);
    }
}
