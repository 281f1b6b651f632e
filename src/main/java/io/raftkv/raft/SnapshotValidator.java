package io.raftkv.raft;

import java.util.Optional;

/**
 * The application's check of a snapshot received from the leader, run before it replaces
 * anything: a snapshot whose data the state machine cannot decode is refused, and the node keeps
 * its log and state (the leader sends it again). A pure function of the bytes.
 */
@FunctionalInterface
public interface SnapshotValidator {
    SnapshotValidator ACCEPT_ALL = (index, term, data) -> Optional.empty();

    /** Empty if the snapshot may be installed, else what is wrong with it. */
    Optional<String> problem(long index, long term, SnapshotData data);
}
