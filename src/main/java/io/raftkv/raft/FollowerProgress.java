package io.raftkv.raft;

/** Read-only view of the leader's replication progress for one follower, for status output. */
public record FollowerProgress(int id, long matchIndex, long nextIndex, String state, int inflight) {}
