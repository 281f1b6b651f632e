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
 * <p>A delete has no value and outputs the keys it deleted ("0" or "1"). A cas or one-key txn
 * compares the key's value with {@code expected} (empty: expects it absent) and writes {@code
 * value} (a txn with none deletes the key); {@code succeeded} says whether the comparison held, and
 * a failed one outputs the value it reported (empty: absent). See {@link
 * io.raftkv.linearizability.Operation}.
 *
 * @param term     for an acknowledged write, the term of the leader that committed it (not in the
 *                 JSON line: it dates leader changes in the summary)
 */
public record Op(int client, Kind kind, String key, Optional<String> value, Optional<String> output, long callNs,
                 long returnNs, boolean ok, OptionalLong term, Optional<String> expected, Optional<Boolean> succeeded) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public enum Kind {
        PUT, APPEND, GET, DELETE, CAS, TXN;

        public String jsonName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public Op {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(key, "key");
        boolean noValue = kind == Kind.GET || kind == Kind.DELETE;
        boolean needsValue = kind == Kind.PUT || kind == Kind.APPEND || kind == Kind.CAS;
        if (noValue && value.isPresent() || needsValue && value.isEmpty())
            throw new IllegalArgumentException(kind + " with value " + value);
        boolean compare = kind == Kind.CAS || kind == Kind.TXN;
        if (!compare && (expected.isPresent() || succeeded.isPresent()))
            throw new IllegalArgumentException(kind + " compares nothing");
        if (compare && ok && succeeded.isEmpty())
            throw new IllegalArgumentException("an acknowledged " + kind + " says whether it succeeded");
        if (callNs > returnNs) throw new IllegalArgumentException("call " + callNs + " after return " + returnNs);
    }

    /** A put, append, get or delete. */
    public Op(int client, Kind kind, String key, Optional<String> value, Optional<String> output, long callNs,
              long returnNs, boolean ok, OptionalLong term) {
        this(client, kind, key, value, output, callNs, returnNs, ok, term, Optional.empty(), Optional.empty());
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
        if (kind == Kind.CAS || kind == Kind.TXN) {
            n.put("expected", expected.orElse(null));
            if (ok) n.put("succeeded", succeeded.orElseThrow());
            else n.putNull("succeeded");
        }
        return n.toString();
    }

    @Override
    public String toString() {
        if (kind == Kind.CAS || kind == Kind.TXN)
            return "c" + client + " " + kind.jsonName() + "(" + key + ", if " + expected.orElse("absent") + " then "
                    + value.orElse("delete") + ") -> " + (!ok ? "?" : succeeded.orElseThrow() ? "succeeded"
                    : "failed, value " + output.map(o -> "\"" + o + "\"").orElse("absent"))
                    + " [" + callNs + ", " + returnNs + "]";
        return "c" + client + " " + kind.jsonName() + "(" + key + value.map(v -> ", " + v).orElse("") + ") -> "
                + (ok ? output.map(o -> "\"" + o + "\"").orElse(kind == Kind.GET ? "not found" : "(not reported)") : "?")
                + " [" + callNs + ", " + returnNs + "]";
    }
}
