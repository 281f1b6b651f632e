package io.raftkv.client;

import com.fasterxml.jackson.databind.JsonNode;
import io.raftkv.transport.HostPort;

import java.util.Optional;
import java.util.OptionalInt;

/**
 * The answer to one client operation.
 *
 * @param status      HTTP status, or 0 if no node could be reached
 * @param body        the JSON body ({@code {"error":...}} on failure)
 * @param servedBy    the node that answered
 * @param latencyNs   time from the first attempt to the answer
 */
public record KvResult(int status, JsonNode body, HostPort servedBy, long latencyNs) {
    public boolean ok() {
        return status == 200;
    }

    public boolean notFound() {
        return status == 404;
    }

    public Optional<String> value() {
        JsonNode v = body.get("value");
        return v == null || v.isNull() ? Optional.empty() : Optional.of(v.asText());
    }

    public Optional<String> error() {
        JsonNode e = body.get("error");
        return e == null ? Optional.empty() : Optional.of(e.asText());
    }

    /** The leader that served the operation, as the response says. */
    public OptionalInt leaderId() {
        JsonNode l = body.get("leader");
        return l == null || !l.has("id") ? OptionalInt.empty() : OptionalInt.of(l.get("id").asInt());
    }

    public Optional<String> leaderAddress() {
        JsonNode l = body.get("leader");
        return l == null || !l.has("address") ? Optional.empty() : Optional.of(l.get("address").asText());
    }

    /**
     * Whether the node said no leader is reachable from it (503 {@code "noLeaderReachable":true}):
     * it is cut off from the leader, or has not heard from one for an election timeout. Another
     * node may well serve the operation at once.
     */
    public boolean noLeaderReachable() {
        return status == 503 && body.path("noLeaderReachable").asBoolean();
    }

    /**
     * A node worth trying next, as a node that could not serve says: the last leader it knew (503
     * {@code "lastLeader"}) or its leader hint when a request reached the forwarding limit (508
     * {@code "leaderHint"}).
     */
    public Optional<String> suggestedNode() {
        JsonNode n = status == 508 ? body.path("leaderHint") : noLeaderReachable() ? body.path("lastLeader") : null;
        return n == null || !n.path("address").isTextual() ? Optional.empty() : Optional.of(n.path("address").asText());
    }

    /** Whether the server said the operation was certainly not applied (so retrying is safe). */
    public boolean retryable() {
        JsonNode r = body.get("retryable");
        return r != null && r.asBoolean();
    }
}
