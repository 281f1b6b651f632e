package io.raftkv.server;

import io.raftkv.raft.FollowerProgress;
import io.raftkv.transport.HostPort;

import java.util.List;
import java.util.Map;

/** A consistent picture of one node, taken by its loop thread. {@code leaderId} is -1 if unknown. */
public record StatusSnapshot(int id, String address, String role, long term, int leaderId, String leaderAddress,
                             int votedFor, long commitIndex, long appliedIndex, long lastLogIndex, long lastLogTerm,
                             int keys, List<FollowerProgress> followers, long pid, Map<Integer, HostPort> members,
                             long firstLogIndex, io.raftkv.storage.RaftStorage.Stats storage) {}
