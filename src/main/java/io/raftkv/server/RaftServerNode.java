package io.raftkv.server;

import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.ScheduledFuture;
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
import java.util.concurrent.TimeUnit;

/** {@link LocalNode} over a {@link RaftServer}. */
final class RaftServerNode implements LocalNode {
    private final RaftServer server;

    RaftServerNode(RaftServer server) {
        this.server = server;
    }

    @Override
    public LeaderContact leaderContact() {
        return server.leaderContact();
    }

    @Override
    public Optional<WebUi> webUi() {
        return Optional.of(server.webUi());
    }

    @Override
    public Optional<io.netty.channel.EventLoop> nodeLoop() {
        return Optional.of(server.loop());
    }

    @Override
    public NodeMetrics metrics() {
        return server.metrics();
    }

    @Override
    public NodeConfig config() {
        return server.config();
    }

    @Override
    public java.util.Optional<ClusterIdentity> clusterIdentity() {
        return java.util.Optional.of(server.identity());
    }

    @Override
    public void peerRefused(String reason) {
        server.peerRefused(reason);
    }

    @Override
    public io.raftkv.auth.AuthStore authStore() {
        return server.authStore();
    }

    @Override
    public java.util.Optional<String> diskFull() {
        return server.diskFull();
    }

    @Override
    public java.util.Optional<io.raftkv.security.NodeTls> tls() {
        return server.tls();
    }

    @Override
    public StatusSnapshot status() {
        return server.status();
    }

    @Override
    public CompletableFuture<WriteOutcome<ApplyResult>> propose(KvCommand cmd) {
        return server.propose(cmd);
    }

    @Override
    public CompletableFuture<ReadOutcome<Optional<io.raftkv.kv.KeyValue>>> read(String key) {
        return server.read(key);
    }

    @Override
    public CompletableFuture<ReadOutcome<Optional<io.raftkv.kv.KeyValue>>> readStale(String key) {
        return server.readStale(key);
    }

    @Override
    public CompletableFuture<ReadOutcome<io.raftkv.kv.KvStateMachine.Range>> range(RangeQuery q, boolean linearizable) {
        return server.range(q, linearizable);
    }

    @Override
    public CompletableFuture<TransferOutcome> transferLeader(OptionalInt target) {
        return server.transferLeader(target);
    }

    @Override
    public CompletableFuture<io.raftkv.node.MembershipOutcome> changeMembership(io.raftkv.raft.ConfChange change) {
        return server.changeMembership(change);
    }

    @Override
    public CompletableFuture<MembersView> members() {
        return server.members();
    }

    @Override
    public CompletableFuture<ReadOutcome<Optional<com.fasterxml.jackson.databind.node.ObjectNode>>> lease(long id) {
        return server.lease(id);
    }

    @Override
    public boolean watch(WatchHub.Request req, ResponseOrder.Reply reply, int max) {
        return server.watch(req, reply, max);
    }

    @Override
    public Optional<HostPort> addressOf(int id) {
        return server.addressOf(id);
    }

    @Override
    public void deliverRpc(Message request, RpcReply reply) {
        server.peerTransport().receive(request, reply);
    }

}
