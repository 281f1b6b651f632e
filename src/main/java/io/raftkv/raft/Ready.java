package io.raftkv.raft;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the core asks of its runtime after a batch of inputs, to be handled in this order
 * (the etcd-io/raft contract):
 * <ol>
 *   <li>if {@code snapshot} is present, it replaces the whole log and state machine: persist it
 *       and restore the state machine from it;</li>
 *   <li>persist {@code hardState} (if present) and {@code entries} (which replace any stored
 *       entries from {@code entries.get(0).index()} on) durably;</li>
 *   <li>only then send {@code messages} - a vote or an acknowledgement must never leave before
 *       the state it promises is on stable storage (Raft Figure 2, "Persistent state"). The one
 *       exception is {@link #mayLeaveBeforePersist}: a leader's replication messages may go out
 *       before its own write, so that the followers' writes overlap it (thesis §10.2.1);</li>
 *   <li>apply {@code committed} to the state machine, in order;</li>
 *   <li>serve each of {@code readStates} once the state machine has applied its index;</li>
 *   <li>call {@link RaftNode#advance(Ready)}.</li>
 * </ol>
 * If {@code configuration} is present, the membership changed (thesis §4.1); the core already
 * uses it. If {@code peers} is present, the servers the core sends requests to changed: the
 * runtime reaches exactly these from this Ready's messages on (connecting to new ones before any
 * of its messages leave). They are not the configuration's members: a removed server stays a peer
 * until it has been told its removal is committed (thesis §4.2.3). Committed CONFIG entries are
 * applied as no-ops by the state machine (it never sees them as commands).
 */
public record Ready(Optional<HardState> hardState, List<Entry> entries, List<Message> messages,
                    List<Entry> committed, List<RoleChange> roleChanges, Optional<Snapshot> snapshot,
                    List<ReadState> readStates, long durableTerm, Optional<Configuration> configuration,
                    Optional<Map<Integer, String>> peers) {
    /** A Ready taken when nothing was durable yet (term 0): every message waits for the write. */
    public Ready(Optional<HardState> hardState, List<Entry> entries, List<Message> messages, List<Entry> committed,
                 List<RoleChange> roleChanges, Optional<Snapshot> snapshot, List<ReadState> readStates) {
        this(hardState, entries, messages, committed, roleChanges, snapshot, readStates, 0);
    }

    /** A Ready in which neither the configuration nor the peers changed. */
    public Ready(Optional<HardState> hardState, List<Entry> entries, List<Message> messages, List<Entry> committed,
                 List<RoleChange> roleChanges, Optional<Snapshot> snapshot, List<ReadState> readStates,
                 long durableTerm) {
        this(hardState, entries, messages, committed, roleChanges, snapshot, readStates, durableTerm, Optional.empty(),
                Optional.empty());
    }

    /**
     * @param durableTerm   the term of the hard state already on stable storage when this Ready was
     *                      taken (its own {@code hardState} is not durable until it is persisted)
     * @param configuration present when the configuration in use ({@link RaftNode#configuration()},
     *                      thesis §4.1) changed since the previous Ready: the membership the
     *                      runtime should now connect to. Informational: the core already uses it.
     * @param peers         present when {@link RaftNode#peers()} changed since the previous Ready:
     *                      every server the core may now send a request to, id to address
     */
    public Ready {
        entries = List.copyOf(entries);
        messages = List.copyOf(messages);
        committed = List.copyOf(committed);
        roleChanges = List.copyOf(roleChanges);
        readStates = List.copyOf(readStates);
    }

    /** Whether this Ready has anything to write to stable storage (etcd's {@code MustSync}, plus snapshots). */
    public boolean mustPersist() {
        return hardState.isPresent() || !entries.isEmpty() || snapshot.isPresent();
    }

    /**
     * Whether {@code m} may leave before this Ready's write is durable: a leader's AppendEntries or
     * InstallSnapshot of a term already durable. The leader counts itself towards a commit only for
     * entries on its own disk ({@link RaftNode#advance}), so sending them early promises nothing
     * (thesis §10.2.1). Votes, vote requests (the candidate's own vote must be durable first) and
     * every response wait for the write (etcd's {@code needStorageAppendRespMsg}).
     */
    public boolean mayLeaveBeforePersist(Message m) {
        return (m instanceof Message.AppendEntries || m instanceof Message.InstallSnapshot) && m.term() <= durableTerm;
    }

    public boolean isEmpty() {
        return hardState.isEmpty() && entries.isEmpty() && messages.isEmpty() && committed.isEmpty()
                && roleChanges.isEmpty() && snapshot.isEmpty() && readStates.isEmpty() && configuration.isEmpty()
                && peers.isEmpty();
    }
}
