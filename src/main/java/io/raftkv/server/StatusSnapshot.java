package io.raftkv.server;

import io.raftkv.raft.FollowerProgress;
import io.raftkv.transport.HostPort;

import java.util.List;
import java.util.Map;

/**
 * A consistent picture of one node, taken by its loop thread. {@code leaderId} is -1 if unknown;
 * {@code members} are the voters and learners of the configuration in use (with {@code learners}
 * among them) from log index {@code configIndex} on.
 */
public record StatusSnapshot(int id, String address, String role, long term, int leaderId, String leaderAddress,
                             int votedFor, long commitIndex, long appliedIndex, long lastLogIndex, long lastLogTerm,
                             int keys, List<FollowerProgress> followers, long pid, Map<Integer, HostPort> members,
                             long firstLogIndex, io.raftkv.storage.RaftStorage.Stats storage,
                             java.util.Set<Integer> learners, long configIndex) {}
