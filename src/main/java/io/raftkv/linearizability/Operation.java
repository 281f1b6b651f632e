package io.raftkv.linearizability;

import java.util.Objects;
import java.util.Optional;

/**
 * One completed client operation on the key-value store, as a client saw it.
 *
 * <p>{@code value} is the input: present for put and append, empty for get. {@code output} is what
 * came back: for a get the value read (empty = key not found); for an append the key's new value
 * when the reply carried it (empty = not known); for a put it is carried along but never checked.
 *
 * <p>{@code ok == false} means the outcome is unknown (a timeout, a 503): the operation may have
 * taken effect at any instant after {@code callNs}, even after {@code returnNs}, or never, and its
 * output says nothing. The checker treats its return time as +infinity.
 *
 * <p>Invariant: {@code callNs <= returnNs}.
 *
 * @param client   the client that issued it; a client has at most one operation in flight
 * @param callNs   when the client sent the request (any monotonic clock shared by all clients)
 * @param returnNs when the client got the reply or gave up
 */
public record Operation(int client, Kind kind, String key, Optional<String> value, Optional<String> output,
                        long callNs, long returnNs, boolean ok) {

    /** The three commands of the store. */
    public enum Kind {
        PUT, APPEND, GET;

        /** The name used in the JSON Lines history format. */
        public String jsonName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        public static Kind fromJsonName(String name) {
            for (Kind k : values()) if (k.jsonName().equals(name)) return k;
            throw new IllegalArgumentException("unknown op \"" + name + "\" (expected put, append or get)");
        }
    }

    public Operation {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        Objects.requireNonNull(output, "output");
        if ((kind == Kind.GET) == value.isPresent())
            throw new IllegalArgumentException(kind.jsonName() + " with value " + value + ": a get has no input value,"
                    + " a put or append has one");
        if (callNs > returnNs)
            throw new IllegalArgumentException("call " + callNs + " after return " + returnNs);
    }

    /** An acknowledged {@code put(key, value)}. */
    public static Operation put(int client, String key, String value, long callNs, long returnNs) {
        return new Operation(client, Kind.PUT, key, Optional.of(value), Optional.of("ok"), callNs, returnNs, true);
    }

    /** An acknowledged {@code append(key, value)} whose reply said the key's new value is {@code result}. */
    public static Operation append(int client, String key, String value, String result, long callNs, long returnNs) {
        return new Operation(client, Kind.APPEND, key, Optional.of(value), Optional.of(result), callNs, returnNs, true);
    }

    /** An acknowledged {@code append(key, value)} whose new value was not reported. */
    public static Operation appendResultNotKnown(int client, String key, String value, long callNs, long returnNs) {
        return new Operation(client, Kind.APPEND, key, Optional.of(value), Optional.empty(), callNs, returnNs, true);
    }

    /** A successful {@code get(key)} that read {@code read}. */
    public static Operation get(int client, String key, String read, long callNs, long returnNs) {
        return new Operation(client, Kind.GET, key, Optional.empty(), Optional.of(read), callNs, returnNs, true);
    }

    /** A successful {@code get(key)} that found no such key. */
    public static Operation getNotFound(int client, String key, long callNs, long returnNs) {
        return new Operation(client, Kind.GET, key, Optional.empty(), Optional.empty(), callNs, returnNs, true);
    }

    /** This operation with an unknown outcome: it timed out at {@code returnNs}, its output is lost. */
    public Operation timedOut() {
        return new Operation(client, kind, key, value, Optional.empty(), callNs, returnNs, false);
    }

    /** This operation with another output. */
    public Operation withOutput(Optional<String> newOutput) {
        return new Operation(client, kind, key, value, newOutput, callNs, returnNs, ok);
    }

    public boolean isWrite() {
        return kind != Kind.GET;
    }

    /** For people: {@code c3 append("k", "x") -> "ax" [120, 180]}; unknown outcomes end in {@code ?}. */
    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("c").append(client).append(' ').append(kind.jsonName())
                .append("(").append(quote(key));
        value.ifPresent(v -> s.append(", ").append(quote(v)));
        s.append(")");
        if (!ok) {
            s.append(" -> ?");
        } else {
            switch (kind) {
                case PUT -> s.append(" -> ok");
                case APPEND -> s.append(" -> ").append(output.map(Operation::quote).orElse("(new value not reported)"));
                case GET -> s.append(" -> ").append(output.map(Operation::quote).orElse("not found"));
            }
        }
        s.append(" [").append(callNs).append(", ").append(ok ? Long.toString(returnNs) : returnNs + " timed out, +inf")
                .append("]");
        return s.toString();
    }

    static String quote(String s) {
        return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }
}
