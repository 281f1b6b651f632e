package io.raftkv.raft;

/** The role of a node in its current term (Raft §5.2). */
public enum Role {
    FOLLOWER,
    /** Asking whether it could win an election, without changing any term yet (thesis §9.6). */
    PRE_CANDIDATE,
    CANDIDATE,
    LEADER;

    /** Lower-case name used in logs and the HTTP status. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
