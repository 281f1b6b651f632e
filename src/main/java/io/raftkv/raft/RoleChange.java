package io.raftkv.raft;

/** A role transition, reported in the {@link Ready} so the runtime can log it with its reason. */
public record RoleChange(long term, Role from, Role to, String reason) {
    @Override
    public String toString() {
        return "term " + term + ": " + from.label() + " -> " + to.label() + " (" + reason + ")";
    }
}
