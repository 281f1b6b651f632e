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

/**
 * {@link LocalNode} over a {@link RaftServer}. {@link #leaderContact()} is inferred from the
 * status the loop publishes, sampled every tick: RaftServer does not say when it last heard from
 * the leader. The inference leans on the core forgetting its leader (leaderId -1) only when it
 * starts a pre-vote after an election timeout without a heartbeat, or when another node's
 * election raises its term; so "silent since the leader was last seen" is close to, and never
 * longer than, the real silence plus one election timeout. Once RaftServer exposes the time of
 * the last message from its leader, {@link #leaderContact()} should return that instead.
 */
final class RaftServerNode implements LocalNode {
    private final RaftServer server;
    private final ScheduledFuture<?> sampler;
    private volatile LeaderContact contact;

    RaftServerNode(RaftServer server, EventLoopGroup group) {
        this.server = server;
        this.contact = new LeaderContact(OptionalInt.empty(), System.nanoTime());
        int tickMs = server.config().tickMs();
        this.sampler = group.next().scheduleAtFixedRate(this::sample, tickMs, tickMs, TimeUnit.MILLISECONDS);
    }

    private LeaderContact sample() {
        int leader = server.status().leaderId();
        LeaderContact c = contact;
        if (leader >= 0) contact = c = new LeaderContact(OptionalInt.of(leader), System.nanoTime());
        return c;
    }

    @Override
    public LeaderContact leaderContact() {
        return sample();
    }

    @Override
    public NodeConfig config() {
        return server.config();
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
    public CompletableFuture<ReadOutcome<Optional<String>>> read(String key) {
        return server.read(key);
    }

    @Override
    public CompletableFuture<ReadOutcome<Optional<String>>> readStale(String key) {
        return server.readStale(key);
    }

    @Override
    public CompletableFuture<TransferOutcome> transferLeader(OptionalInt target) {
        return server.transferLeader(target);
    }

    @Override
    public Optional<HostPort> addressOf(int id) {
        return server.addressOf(id);
    }

    @Override
    public void deliverRpc(Message request, RpcReply reply) {
        server.peerTransport().receive(request, reply);
    }

    @Override
    public void close() {
        sampler.cancel(false);
    }
}
