package io.raftkv.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.raftkv.node.TransferOutcome;

import java.util.OptionalInt;
import java.util.function.IntFunction;

/** The JSON of {@code POST /transfer-leader}: its body and its answers. */
final class TransferJson {
    private static final String USAGE = "; send {\"id\":N} to move the leadership to node N, or {} for the most"
            + " caught-up voter";

    private TransferJson() {}

    static final class BadTransfer extends Exception {
        BadTransfer(String message) {
            super(message, null, false, false);
        }
    }

    /** The target: {@code {"id":N}}; empty for {@code {}}, {@code {"id":null}} or an empty body. */
    static OptionalInt parse(byte[] body) throws BadTransfer {
        if (body.length == 0) return OptionalInt.empty();
        JsonNode o;
        try {
            o = KvApiJson.readObject(body, USAGE); // one object, each field once
            KvApiJson.only(o, java.util.Set.of("id"), USAGE);
        } catch (KvApiJson.Bad e) {
            throw new BadTransfer(e.getMessage());
        }
        JsonNode id = o.get("id");
        if (id == null || id.isNull()) return OptionalInt.empty();
        if (!id.isIntegralNumber() || !id.canConvertToInt()) {
            throw new BadTransfer("field 'id' must be a node id (an integer), not " + id + USAGE);
        }
        return OptionalInt.of(id.asInt());
    }

    /** The answer to every outcome but NotLeader (which is forwarded). */
    static FullHttpResponse answer(TransferOutcome outcome, IntFunction<String> addressOf) {
        return switch (outcome) {
            case TransferOutcome.Transferred t -> {
                ObjectNode o = HttpApi.JSON.createObjectNode().put("ok", true);
                o.set("leader", StatusJson.leader(t.leader(), addressOf.apply(t.leader())));
                o.put("term", t.term());
                yield HttpApi.json(HttpResponseStatus.OK, o);
            }
            case TransferOutcome.Refused r -> HttpApi.error(switch (r.reason()) {
                case UNKNOWN_NODE -> HttpResponseStatus.NOT_FOUND;
                case NOT_VOTER, IN_PROGRESS -> HttpResponseStatus.CONFLICT;
            }, r.message());
            case TransferOutcome.Failed f -> failed("leadership transfer failed: " + f.reason());
            case TransferOutcome.NotLeader n -> throw new IllegalArgumentException("NotLeader is forwarded, not answered");
        };
    }

    /** 503: the transfer did not happen (the leader leads on); asking again is safe. */
    static FullHttpResponse failed(String why) {
        return HttpApi.json(HttpResponseStatus.SERVICE_UNAVAILABLE, HttpApi.JSON.createObjectNode()
                .put("error", why + "; try again").put("retryable", true));
    }
}
