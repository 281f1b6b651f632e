package io.raftkv.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raftkv.raft.FollowerProgress;

import java.util.List;

/**
 * The JSON of {@code GET /ui/state}: one node's picture for the web view, small enough to be
 * polled several times a second by the node serving a page. Its status (role, term, indexes, as
 * {@code /status}), as leader its followers' match / next / lag, the terms of its last log
 * entries, its recent events, and the client requests it answered per second with their p99.
 */
final class UiState {
    /** Log entries shown per node: the strip's length. */
    static final int TAIL_ENTRIES = 50;
    /** Events per node per answer: the page keeps the timeline, so only recent ones travel. */
    static final int EVENTS = 20;

    private UiState() {}

    static ObjectNode of(StatusSnapshot s, LogTail tail, List<UiEvents.Event> events, RequestRate.Rate rate,
                         boolean networkCut, boolean localControl) {
        ObjectNode o = HttpApi.JSON.createObjectNode();
        o.put("id", s.id());
        o.put("address", s.address());
        o.put("pid", s.pid());
        o.put("role", s.role());
        o.put("term", s.term());
        if (s.leaderId() < 0) o.putNull("leaderId");
        else o.put("leaderId", s.leaderId());
        o.put("commitIndex", s.commitIndex());
        o.put("appliedIndex", s.appliedIndex());
        o.put("lastLogIndex", s.lastLogIndex());
        o.put("firstLogIndex", s.firstLogIndex());
        o.put("snapshotIndex", s.storage().snapshotIndex());
        ObjectNode members = o.putObject("members");
        s.members().forEach((id, a) -> members.put(String.valueOf(id), a.toString()));
        ArrayNode learners = o.putArray("learners");
        s.learners().forEach(learners::add);
        ArrayNode followers = o.putArray("followers");
        for (FollowerProgress p : s.followers()) {
            followers.addObject().put("id", p.id()).put("matchIndex", p.matchIndex()).put("nextIndex", p.nextIndex())
                    .put("lag", Math.max(0, s.lastLogIndex() - p.matchIndex())).put("state", p.state())
                    .put("inflight", p.inflight());
        }
        ObjectNode log = o.putObject("log");
        log.put("start", tail.start());
        ArrayNode terms = log.putArray("terms");
        for (long t : tail.terms()) terms.add(t);
        ArrayNode ev = o.putArray("events");
        for (UiEvents.Event e : events) {
            ev.addObject().put("seq", e.seq()).put("timeMs", e.timeMs()).put("kind", e.kind()).put("term", e.term())
                    .put("text", e.text());
        }
        ObjectNode req = o.putObject("requests");
        req.put("perSecond", Math.round(rate.perSecond() * 10) / 10.0);
        if (rate.p99Ms().isEmpty()) {
            req.putNull("p99Ms");
        } else if (Double.isInfinite(rate.p99Ms().getAsDouble())) {
            req.putNull("p99Ms");
            req.put("p99Note", "over 10 s");
        } else {
            req.put("p99Ms", rate.p99Ms().getAsDouble());
        }
        o.put("networkCut", networkCut);
        o.put("localControl", localControl);
        return o;
    }
}
