package io.raftkv.chaos;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * One completed client operation, as the client saw it: one line of the history.
 *
 * <p>{@code value} is the input (empty for a get). {@code output} is what came back: the value read
 * (empty: not found), or the key's value after a put or append (empty: not reported, as for a
 * retry answered from the session table). {@code ok == false}: the outcome is unknown (timeout, 503,
 * no answer); the operation may take effect at any time after {@code callNs}, or never.
 *
 * @param callNs   when the client sent it, on the run's monotonic clock (ns since the run started)
 * @param returnNs when the answer came, or the client gave up
 * @param term     for an acknowledged write, the term of the leader that committed it (not in the
 *                 JSON line: it dates leader changes in the summary)
 */
public record Op(int client, Kind kind, String key, Optional<String> value, Optional<String> output, long callNs,
                 long returnNs, boolean ok, OptionalLong term) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public enum Kind {
        PUT, APPEND, GET;

        public String jsonName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public Op {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(key, "key");
        if ((kind == Kind.GET) == value.isPresent()) throw new IllegalArgumentException(kind + " with value " + value);
        if (callNs > returnNs) throw new IllegalArgumentException("call " + callNs + " after return " + returnNs);
    }

    public boolean isWrite() {
        return kind != Kind.GET;
    }

    /**
     * The history line: {@code {"client":..,"op":..,"key":..,"value":..,"output":..,"call":..,"return":..,"ok":..}},
     * with {@code null} for an absent value or output: the format {@link io.raftkv.linearizability.History}
     * reads back.
     */
    public String toJsonLine() {
        ObjectNode n = JSON.createObjectNode();
        n.put("client", client);
        n.put("op", kind.jsonName());
        n.put("key", key);
        n.put("value", value.orElse(null));
        n.put("output", ok ? output.orElse(null) : null);
        n.put("call", callNs);
        n.put("return", returnNs);
        n.put("ok", ok);
        return n.toString();
    }

    @Override
    public String toString() {
        return "c" + client + " " + kind.jsonName() + "(" + key + value.map(v -> ", " + v).orElse("") + ") -> "
                + (ok ? output.map(o -> "\"" + o + "\"").orElse(kind == Kind.GET ? "not found" : "(not reported)") : "?")
                + " [" + callNs + ", " + returnNs + "]";
    }
}
