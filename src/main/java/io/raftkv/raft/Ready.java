package io.raftkv.raft;

import java.util.List;
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
 *       the state it promises is on stable storage (Raft Figure 2, "Persistent state");</li>
 *   <li>apply {@code committed} to the state machine, in order;</li>
 *   <li>serve each of {@code readStates} once the state machine has applied its index;</li>
 *   <li>call {@link RaftNode#advance(Ready)}.</li>
 * </ol>
 */
public record Ready(Optional<HardState> hardState, List<Entry> entries, List<Message> messages,
                    List<Entry> committed, List<RoleChange> roleChanges, Optional<Snapshot> snapshot,
                    List<ReadState> readStates) {
    public Ready {
        entries = List.copyOf(entries);
        messages = List.copyOf(messages);
        committed = List.copyOf(committed);
        roleChanges = List.copyOf(roleChanges);
        readStates = List.copyOf(readStates);
    }

    public boolean isEmpty() {
        return hardState.isEmpty() && entries.isEmpty() && messages.isEmpty() && committed.isEmpty()
                && roleChanges.isEmpty() && snapshot.isEmpty() && readStates.isEmpty();
    }
}
