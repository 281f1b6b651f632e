package io.raftkv.jmh;

import io.raftkv.kv.KvCommand;
import io.raftkv.raft.HardState;
import io.raftkv.raft.Message;
import io.raftkv.raft.Message.AppendEntries;
import io.raftkv.raft.Message.AppendEntriesResponse;
import io.raftkv.raft.Message.RequestVoteResponse;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.RaftNode;
import io.raftkv.raft.Ready;
import io.raftkv.raft.Role;
import io.raftkv.raft.Snapshot;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The pure core's replication round on the leader of a 3-voter group, in memory, one thread: the
 * work {@code RaftServer}'s loop asks of {@link RaftNode} for every write, without the I/O.
 *
 * <p>One operation: propose {@code batch} commands; take the Ready (the new entries, one
 * AppendEntries per follower), "persist" it (the entries go to a Blackhole) and advance; step an
 * AppendEntriesResponse from each follower acknowledging the batch; take the Ready that follows
 * (the new commit index and the committed entries to apply) and advance. Ready handling loops on
 * {@link RaftNode#hasReady()} as the server does. The score is rounds per second; the
 * {@code proposals} secondary result is commands per second through the core.
 *
 * <p>The log is compacted through {@link RaftNode#compact} with the server's default snapshot
 * policy (every 10,000 applied entries, keeping a 1,000-entry tail), so it stays bounded.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class RaftStepBenchmark {
    /** Commands proposed per round. */
    @Param({"1", "16", "128"})
    public int batch;

    private static final int LEADER = 1;
    private static final List<Integer> VOTERS = List.of(1, 2, 3);
    /** io.raftkv.node.SnapshotPolicy.defaults(): snapshot every 10,000 entries, keep 1,000. */
    private static final long SNAPSHOT_EVERY = 10_000;
    private static final long KEEP_ENTRIES = 1_000;
    private static final byte[] EMPTY_SNAPSHOT = new byte[0];

    private RaftNode leader;
    private long term;
    private byte[] command;
    private long lastSnapshotIndex;
    private long roundsRun;
    private long messagesSent;

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Proposed {
        /** Commands proposed and committed. */
        public long proposals;

        @Setup(Level.Iteration)
        public void reset() {
            proposals = 0;
        }
    }

    @Setup(Level.Trial)
    public void elect() {
        // A PUT as a session client sends it: ~50 bytes of command.
        command = new KvCommand(KvCommand.Op.PUT, "key-000042", "value-0123456789abcdef", 7, 1, 1_700_000_000_000L)
                .encode();
        leader = new RaftNode(RaftConfig.defaults(LEADER, VOTERS, 42), HardState.EMPTY, List.of());
        leader.campaign("benchmark");
        drain(null);
        term = leader.term();
        leader.step(new RequestVoteResponse(2, LEADER, term, true));
        if (leader.role() != Role.LEADER) throw new IllegalStateException("not leader: " + leader);
        drain(null); // the no-op of the new term, sent to both followers
        acknowledge(leader.lastIndex());
        drain(null);
        if (leader.commitIndex() != leader.lastIndex() || leader.appliedIndex() != leader.commitIndex())
            throw new IllegalStateException("no-op not committed: " + leader);
    }

    @Benchmark
    public void proposeReplicateCommit(Blackhole bh, Proposed proposed) {
        for (int i = 0; i < batch; i++) bh.consume(leader.propose(command));
        drain(bh);
        acknowledge(leader.lastIndex());
        drain(bh);
        proposed.proposals += batch;
        roundsRun++;
        long applied = leader.appliedIndex();
        if (applied - lastSnapshotIndex >= SNAPSHOT_EVERY) {
            leader.compact(new Snapshot(applied, leader.termAt(applied), EMPTY_SNAPSHOT), applied - KEEP_ENTRIES);
            lastSnapshotIndex = applied;
        }
    }

    /** Both followers have persisted everything up to {@code index}. */
    private void acknowledge(long index) {
        leader.step(AppendEntriesResponse.accept(2, LEADER, term, index));
        leader.step(AppendEntriesResponse.accept(3, LEADER, term, index));
    }

    /** Handles Readies as RaftServer does: persist (here: nothing), send, apply, advance. */
    private void drain(Blackhole bh) {
        while (leader.hasReady()) {
            Ready rd = leader.ready();
            if (bh != null) {
                bh.consume(rd.hardState());
                bh.consume(rd.entries());
                for (Message m : rd.messages()) {
                    bh.consume(m);
                    if (m instanceof AppendEntries) messagesSent++;
                }
                bh.consume(rd.committed());
            }
            leader.advance(rd);
        }
    }

    @TearDown(Level.Trial)
    public void check() {
        // Every round replicated to both followers and committed all it proposed.
        if (leader.role() != Role.LEADER || leader.commitIndex() != leader.lastIndex()
                || leader.appliedIndex() != leader.commitIndex()) {
            throw new IllegalStateException("round did not commit everything: " + leader);
        }
        if (messagesSent < 2 * roundsRun) {
            throw new IllegalStateException(messagesSent + " AppendEntries in " + roundsRun + " rounds");
        }
        if (leader.logSize() > SNAPSHOT_EVERY + KEEP_ENTRIES + batch) {
            throw new IllegalStateException("log not compacted: " + leader.logSize() + " entries");
        }
    }
}
