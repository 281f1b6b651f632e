package io.raftkv.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.raftkv.node.MembershipOutcome;
import io.raftkv.raft.ConfChange;
import io.raftkv.raft.ConfChangeResult;
import io.raftkv.raft.Configuration;
import io.raftkv.transport.HostPort;


/** The JSON of {@code /members} and {@code /members/add|promote|remove}: bodies and answers. */
final class MembersJson {
    private MembersJson() {}

    static final class BadChange extends Exception {
        BadChange(String message) {
            super(message, null, false, false);
        }
    }

    /** The change a {@code POST /members/<op>} body asks for; {@code op} is add, promote or remove. */
    static ConfChange parse(String op, byte[] body) throws BadChange {
        String usage = switch (op) {
            case "add" -> "; send {\"id\":N,\"address\":\"host:port\"} to add node N as a learner";
            case "promote" -> "; send {\"id\":N} to make learner N a voter";
            case "remove" -> "; send {\"id\":N} to remove node N";
            default -> throw new IllegalArgumentException("no membership operation " + op);
        };
        JsonNode o;
        try {
            o = KvApiJson.readObject(body, usage); // one object, each field once
            KvApiJson.only(o, op.equals("add") ? java.util.Set.of("id", "address") : java.util.Set.of("id"), usage);
        } catch (KvApiJson.Bad e) {
            throw new BadChange(e.getMessage());
        }
        JsonNode id = o.get("id");
        if (id == null || id.isNull()) throw new BadChange("field 'id' is missing" + usage);
        if (!id.isIntegralNumber() || !id.canConvertToInt() || id.asInt() < 0) {
            throw new BadChange("field 'id' must be a node id (an integer >= 0), not " + id + usage);
        }
        int n = id.asInt();
        return switch (op) {
            case "add" -> {
                JsonNode a = o.get("address");
                if (a == null || a.isNull()) throw new BadChange("field 'address' is missing" + usage);
                if (!a.isTextual()) throw new BadChange("field 'address' must be a string \"host:port\", not " + a + usage);
                try {
                    HostPort.parse(a.asText());
                } catch (IllegalArgumentException e) {
                    throw new BadChange("field 'address': " + e.getMessage() + usage);
                }
                yield new ConfChange.AddLearner(n, a.asText());
            }
            case "promote" -> new ConfChange.Promote(n);
            default -> new ConfChange.Remove(n);
        };
    }

    /** {@code GET /members} and the body of a change's answer: the membership as the leader sees it. */
    static ObjectNode view(Configuration c, long configIndex, MembersView v) {
        ObjectNode o = HttpApi.JSON.createObjectNode();
        ArrayNode members = o.putArray("members");
        for (int id : c.members()) {
            ObjectNode m = members.addObject().put("id", id).put("address", address(c, id, v));
            if (c.isVoter(id)) {
                m.put("role", "voter");
            } else {
                m.put("role", "learner");
                if (v.leader()) m.put("caughtUp", v.caughtUp(id));
            }
            if (v.leader() && v.lag().containsKey(id)) m.put("lag", v.lag().get(id));
        }
        if (v.leaderId().isPresent()) {
            int l = v.leaderId().getAsInt();
            HostPort a = v.addresses().get(l);
            o.set("leader", StatusJson.leader(l, a == null ? null : a.toString()));
        } else {
            o.putNull("leader");
        }
        o.put("configIndex", configIndex);
        o.put("committed", configIndex <= v.commitIndex());
        return o;
    }

    private static String address(Configuration c, int id, MembersView v) {
        String a = c.address(id).orElse("");
        if (!a.isEmpty()) return a;
        HostPort known = v.addresses().get(id);
        return known == null ? "" : known.toString();
    }

    /** The answer to every outcome but NotLeader (which is forwarded); {@code now} is the leader's view after it. */
    static FullHttpResponse answer(MembershipOutcome outcome, MembersView now) {
        return switch (outcome) {
            case MembershipOutcome.Committed c -> {
                ObjectNode o = view(c.configuration(), c.index(), now);
                o.put("ok", true);
                yield HttpApi.json(HttpResponseStatus.OK, o);
            }
            case MembershipOutcome.Refused r -> switch (r.reason()) {
                case NO_COMMIT_IN_TERM -> retryable(r.message());
                default -> HttpApi.json(status(r.reason()), HttpApi.JSON.createObjectNode().put("error", r.message())
                        .put("reason", r.reason().name().toLowerCase(java.util.Locale.ROOT)));
            };
            case MembershipOutcome.Failed f -> retryable("the membership change failed: " + f.reason());
            case MembershipOutcome.Unknown u -> HttpApi.json(HttpResponseStatus.SERVICE_UNAVAILABLE,
                    HttpApi.JSON.createObjectNode().put("error", u.reason()
                            + "; the change may or may not be made: GET /members tells").put("retryable", false));
            case MembershipOutcome.NotLeader n -> throw new IllegalArgumentException("NotLeader is forwarded, not answered");
        };
    }

    static HttpResponseStatus status(ConfChangeResult.Reason reason) {
        return switch (reason) {
            case UNKNOWN_MEMBER -> HttpResponseStatus.NOT_FOUND;
            case INVALID -> HttpResponseStatus.BAD_REQUEST;
            case NO_COMMIT_IN_TERM -> HttpResponseStatus.SERVICE_UNAVAILABLE;
            case CHANGE_IN_PROGRESS, LAST_VOTER, ALREADY_MEMBER, ADDRESS_IN_USE, NOT_A_LEARNER, LEARNER_LAGGING,
                 TRANSFER_IN_PROGRESS -> HttpResponseStatus.CONFLICT;
        };
    }

    /** 503: nothing changed; asking again is safe. */
    static FullHttpResponse retryable(String why) {
        return HttpApi.json(HttpResponseStatus.SERVICE_UNAVAILABLE, HttpApi.JSON.createObjectNode()
                .put("error", why + "; try again").put("retryable", true));
    }
}
