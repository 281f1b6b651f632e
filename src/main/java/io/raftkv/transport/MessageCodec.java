package io.raftkv.transport;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raftkv.raft.Entry;
import io.raftkv.raft.Message;
import io.raftkv.raft.Message.AppendEntries;
import io.raftkv.raft.Message.AppendEntriesResponse;
import io.raftkv.raft.Message.InstallSnapshot;
import io.raftkv.raft.Message.InstallSnapshotResponse;
import io.raftkv.raft.Message.RequestVote;
import io.raftkv.raft.Message.RequestVoteResponse;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** JSON encoding of Raft messages: {@code {"type":"AppendEntries","from":0,...}}. */
public final class MessageCodec {
    private static final ObjectMapper JSON = new ObjectMapper();

    private MessageCodec() {}

    /** HTTP path a request message is posted to; responses travel in the HTTP response. */
    public static String path(Message m) {
        return switch (m) {
            case RequestVote rv -> "/requestVote";
            case AppendEntries ae -> "/appendEntries";
            case RequestVoteResponse r -> "/requestVote";
            case AppendEntriesResponse r -> "/appendEntries";
            case InstallSnapshot is -> "/installSnapshot";
            case InstallSnapshotResponse r -> "/installSnapshot";
        };
    }

    public static boolean isResponse(Message m) {
        return m instanceof RequestVoteResponse || m instanceof AppendEntriesResponse
                || m instanceof InstallSnapshotResponse;
    }

    public static byte[] encode(Message m) {
        ObjectNode o = JSON.createObjectNode();
        o.put("type", m.getClass().getSimpleName());
        o.put("from", m.from());
        o.put("to", m.to());
        o.put("term", m.term());
        switch (m) {
            case RequestVote rv -> {
                o.put("lastLogIndex", rv.lastLogIndex());
                o.put("lastLogTerm", rv.lastLogTerm());
                if (rv.preVote()) o.put("preVote", true);
            }
            case RequestVoteResponse r -> {
                o.put("granted", r.granted());
                if (r.preVote()) o.put("preVote", true);
            }
            case AppendEntries ae -> {
                o.put("prevLogIndex", ae.prevLogIndex());
                o.put("prevLogTerm", ae.prevLogTerm());
                o.put("leaderCommit", ae.leaderCommit());
                if (ae.readContext() != 0) o.put("readContext", ae.readContext());
                ArrayNode arr = o.putArray("entries");
                for (Entry e : ae.entries()) {
                    arr.addObject().put("index", e.index()).put("term", e.term()).put("data", e.data());
                }
            }
            case AppendEntriesResponse r -> {
                o.put("success", r.success());
                o.put("matchIndex", r.matchIndex());
                o.put("rejectedIndex", r.rejectedIndex());
                o.put("conflictTerm", r.conflictTerm());
                o.put("conflictIndex", r.conflictIndex());
                if (r.readContext() != 0) o.put("readContext", r.readContext());
            }
            case InstallSnapshot is -> {
                o.put("snapshotIndex", is.snapshotIndex());
                o.put("snapshotTerm", is.snapshotTerm());
                o.put("offset", is.offset());
                o.put("done", is.done());
                o.put("data", is.data());
            }
            case InstallSnapshotResponse r -> {
                o.put("snapshotIndex", r.snapshotIndex());
                o.put("nextOffset", r.nextOffset());
                o.put("done", r.done());
            }
        }
        try {
            return JSON.writeValueAsBytes(o);
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode " + m, e);
        }
    }

    /** Decodes a message; throws {@link IllegalArgumentException} saying what is wrong. */
    public static Message decode(byte[] body) {
        JsonNode o;
        try {
            o = JSON.readTree(body);
        } catch (IOException e) {
            throw new IllegalArgumentException("malformed JSON");
        }
        if (o == null || !o.isObject()) throw new IllegalArgumentException("message must be a JSON object");
        String type = text(o, "type");
        int from = (int) num(o, "from");
        int to = (int) num(o, "to");
        long term = num(o, "term");
        return switch (type) {
            case "RequestVote" -> new RequestVote(from, to, term, num(o, "lastLogIndex"), num(o, "lastLogTerm"),
                    o.path("preVote").asBoolean(false));
            case "RequestVoteResponse" -> new RequestVoteResponse(from, to, term, bool(o, "granted"),
                    o.path("preVote").asBoolean(false));
            case "AppendEntries" -> {
                JsonNode arr = o.get("entries");
                if (arr == null || !arr.isArray()) throw new IllegalArgumentException("field 'entries' must be an array");
                List<Entry> entries = new ArrayList<>(arr.size());
                for (JsonNode e : arr) {
                    try {
                        entries.add(new Entry(num(e, "index"), num(e, "term"), e.get("data").binaryValue()));
                    } catch (IOException | NullPointerException ex) {
                        throw new IllegalArgumentException("bad entry " + e);
                    }
                }
                yield new AppendEntries(from, to, term, num(o, "prevLogIndex"), num(o, "prevLogTerm"), entries,
                        num(o, "leaderCommit"), o.path("readContext").asLong(0));
            }
            case "AppendEntriesResponse" -> new AppendEntriesResponse(from, to, term, bool(o, "success"),
                    num(o, "matchIndex"), num(o, "rejectedIndex"), num(o, "conflictTerm"), num(o, "conflictIndex"),
                    o.path("readContext").asLong(0));
            case "InstallSnapshot" -> {
                JsonNode d = o.get("data");
                byte[] data;
                try {
                    if (d == null) throw new IOException("missing");
                    data = d.binaryValue();
                } catch (IOException e) {
                    throw new IllegalArgumentException("field 'data' must be base64");
                }
                yield new InstallSnapshot(from, to, term, num(o, "snapshotIndex"), num(o, "snapshotTerm"),
                        num(o, "offset"), data, bool(o, "done"));
            }
            case "InstallSnapshotResponse" -> new InstallSnapshotResponse(from, to, term, num(o, "snapshotIndex"),
                    num(o, "nextOffset"), bool(o, "done"));
            default -> throw new IllegalArgumentException("unknown message type '" + type + "'");
        };
    }

    private static String text(JsonNode o, String field) {
        JsonNode n = o.get(field);
        if (n == null || !n.isTextual()) throw new IllegalArgumentException("field '" + field + "' must be a string");
        return n.asText();
    }

    private static long num(JsonNode o, String field) {
        JsonNode n = o.get(field);
        if (n == null || !n.canConvertToLong()) throw new IllegalArgumentException("field '" + field + "' must be an integer");
        return n.asLong();
    }

    private static boolean bool(JsonNode o, String field) {
        JsonNode n = o.get(field);
        if (n == null || !n.isBoolean()) throw new IllegalArgumentException("field '" + field + "' must be a boolean");
        return n.asBoolean();
    }
}
