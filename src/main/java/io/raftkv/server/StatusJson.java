package io.raftkv.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raftkv.raft.FollowerProgress;

/** The JSON shape of {@code GET /status}. */
final class StatusJson {
    private StatusJson() {}

    static ObjectNode of(StatusSnapshot s) {
        ObjectNode o = HttpApi.JSON.createObjectNode();
        o.put("id", s.id());
        o.put("address", s.address());
        o.put("role", s.role());
        o.put("term", s.term());
        if (s.leaderId() < 0) {
            o.putNull("leader");
        } else {
            o.set("leader", leader(s.leaderId(), s.leaderAddress()));
        }
        o.put("votedFor", s.votedFor() < 0 ? null : s.votedFor());
        o.put("commitIndex", s.commitIndex());
        o.put("lastApplied", s.appliedIndex());
        o.put("lastLogIndex", s.lastLogIndex());
        o.put("lastLogTerm", s.lastLogTerm());
        o.put("keys", s.keys());
        o.put("pid", s.pid());
        io.raftkv.storage.RaftStorage.Stats st = s.storage();
        ObjectNode storage = o.putObject("storage");
        storage.put("firstLogIndex", s.firstLogIndex());
        storage.put("logEntries", s.lastLogIndex() - s.firstLogIndex() + 1);
        storage.put("snapshotIndex", st.snapshotIndex());
        storage.put("walBytes", st.walBytes());
        storage.put("snapshotBytes", st.snapshotBytes());
        storage.put("diskBytes", st.walBytes() + st.snapshotBytes());
        storage.put("fsyncs", st.fsyncs());
        storage.put("entriesWritten", st.entriesWritten());
        storage.put("entriesPerFsync", st.fsyncs() == 0 ? 0.0
                : Math.round(100.0 * st.entriesWritten() / st.fsyncs()) / 100.0);
        ObjectNode members = o.putObject("members");
        s.members().forEach((id, addr) -> members.put(String.valueOf(id), addr.toString()));
        // The configuration in use (thesis §4.1): voters and learners, from log index configIndex on.
        ObjectNode configuration = o.putObject("configuration");
        ArrayNode voters = configuration.putArray("voters");
        ArrayNode learners = configuration.putArray("learners");
        s.members().keySet().forEach(id -> (s.learners().contains(id) ? learners : voters).add(id));
        configuration.put("index", s.configIndex());
        // Thesis §4.1: in use from when it is in the log; final once committed. A node that is not
        // among the members of a committed configuration knows it was removed (§4.2.3).
        configuration.put("committed", s.configIndex() <= s.commitIndex());
        o.put("member", s.members().containsKey(s.id()));
        if (s.role().equals("leader")) {
            ArrayNode peers = o.putArray("peers");
            for (FollowerProgress p : s.followers()) {
                peers.addObject().put("id", p.id()).put("matchIndex", p.matchIndex()).put("nextIndex", p.nextIndex())
                        .put("state", p.state()).put("inflight", p.inflight());
            }
        }
        return o;
    }

    static ObjectNode leader(int id, String address) {
        return HttpApi.JSON.createObjectNode().put("id", id).put("address", address);
    }
}
