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
 * <p>The conditional writes of one key:
 * <ul>
 *   <li>delete: no value; output "1" or "0", the number of keys deleted (empty = not known);</li>
 *   <li>cas: {@code expected} is the value compared with (empty = "expect the key absent"),
 *       {@code value} the value written when it matches; {@code succeeded} says whether it did, and
 *       on a failed comparison {@code output} is the key's current value reported (empty = absent);</li>
 *   <li>txn: a transaction on one key, etcd style: compare the key's value with {@code expected}
 *       (empty = absent); on success put {@code value}, or delete the key when it is empty; on
 *       failure get the key, which is {@code output}. {@code succeeded} as for cas.</li>
 * </ul>
 * {@code expected} and {@code succeeded} are empty for every other kind; {@code succeeded} is
 * present exactly when a cas or txn has a known outcome.
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
                        long callNs, long returnNs, boolean ok, Optional<String> expected,
                        Optional<Boolean> succeeded) {

    /** The commands of the store, as far as one key goes. */
    public enum Kind {
        PUT, APPEND, GET, DELETE, CAS, TXN;

        /**
         * Whether the kind only came with deletes and conditional writes: a key whose history has
         * one of these is searched without the prunings that hold only for put/append/get.
         */
        public boolean isConditionalOrDelete() {
            return this == DELETE || this == CAS || this == TXN;
        }

        /** The name used in the JSON Lines history format. */
        public String jsonName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        public static Kind fromJsonName(String name) {
            for (Kind k : values()) if (k.jsonName().equals(name)) return k;
            throw new IllegalArgumentException("unknown op \"" + name
                    + "\" (expected put, append, get, delete, cas or txn)");
        }
    }

    public Operation {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        Objects.requireNonNull(output, "output");
        Objects.requireNonNull(expected, "expected");
        Objects.requireNonNull(succeeded, "succeeded");
        switch (kind) {
            case GET, DELETE -> {
                if (value.isPresent())
                    throw new IllegalArgumentException(kind.jsonName() + " with value " + value + ": a get or a delete"
                            + " has no input value");
            }
            case PUT, APPEND, CAS -> {
                if (value.isEmpty())
                    throw new IllegalArgumentException(kind.jsonName() + " without a value: a put, append or cas has one");
            }
            case TXN -> { } // a txn that deletes on success has no value
        }
        boolean conditional = kind == Kind.CAS || kind == Kind.TXN;
        if (!conditional && (expected.isPresent() || succeeded.isPresent()))
            throw new IllegalArgumentException(kind.jsonName() + " with expected " + expected + " / succeeded "
                    + succeeded + ": only a cas or txn compares");
        if (conditional && ok && succeeded.isEmpty())
            throw new IllegalArgumentException("a " + kind.jsonName() + " with a known outcome says whether it succeeded");
        if (succeeded.orElse(false) && output.isPresent())
            throw new IllegalArgumentException("a " + kind.jsonName() + " that succeeded reports no value, found " + output);
        if (kind == Kind.DELETE && output.isPresent() && !output.get().equals("0") && !output.get().equals("1"))
            throw new IllegalArgumentException("a delete of one key deletes \"0\" or \"1\", not " + output.get());
        if (callNs > returnNs)
            throw new IllegalArgumentException("call " + callNs + " after return " + returnNs);
    }

    /** An operation that compares nothing: a put, append, get or delete. */
    public Operation(int client, Kind kind, String key, Optional<String> value, Optional<String> output,
                     long callNs, long returnNs, boolean ok) {
        this(client, kind, key, value, output, callNs, returnNs, ok, Optional.empty(), Optional.empty());
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

    /** An acknowledged delete of one key that deleted {@code deleted} keys (0 or 1). */
    public static Operation delete(int client, String key, int deleted, long callNs, long returnNs) {
        return new Operation(client, Kind.DELETE, key, Optional.empty(), Optional.of(Integer.toString(deleted)),
                callNs, returnNs, true);
    }

    /**
     * An acknowledged compare-and-swap of {@code key} from {@code expected} (null: absent) to {@code
     * value}; when it failed, {@code current} is the value it reported (null: absent).
     */
    public static Operation cas(int client, String key, String expected, String value, boolean succeeded,
                                String current, long callNs, long returnNs) {
        return new Operation(client, Kind.CAS, key, Optional.of(value),
                succeeded ? Optional.empty() : Optional.ofNullable(current), callNs, returnNs, true,
                Optional.ofNullable(expected), Optional.of(succeeded));
    }

    /**
     * An acknowledged one-key transaction: if {@code key}'s value is {@code expected} (null: absent)
     * then put {@code value} (null: delete the key) else get it, which read {@code read} (null: absent).
     */
    public static Operation txn(int client, String key, String expected, String value, boolean succeeded,
                                String read, long callNs, long returnNs) {
        return new Operation(client, Kind.TXN, key, Optional.ofNullable(value),
                succeeded ? Optional.empty() : Optional.ofNullable(read), callNs, returnNs, true,
                Optional.ofNullable(expected), Optional.of(succeeded));
    }

    /** This operation with an unknown outcome: it timed out at {@code returnNs}, its output is lost. */
    public Operation timedOut() {
        return new Operation(client, kind, key, value, Optional.empty(), callNs, returnNs, false, expected,
                Optional.empty());
    }

    /** This operation with another output. */
    public Operation withOutput(Optional<String> newOutput) {
        return new Operation(client, kind, key, value, newOutput, callNs, returnNs, ok, expected, succeeded);
    }

    public boolean isWrite() {
        return kind != Kind.GET;
    }

    /** For people: {@code c3 append("k", "x") -> "ax" [120, 180]}; unknown outcomes end in {@code ?}. */
    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("c").append(client).append(' ').append(kind.jsonName())
                .append("(").append(quote(key));
        if (kind == Kind.CAS || kind == Kind.TXN)
            s.append(", if ").append(expected.map(Operation::quote).orElse("absent")).append(" then ")
                    .append(value.map(Operation::quote).orElse("delete"));
        else value.ifPresent(v -> s.append(", ").append(quote(v)));
        s.append(")");
        if (!ok) {
            s.append(" -> ?");
        } else {
            switch (kind) {
                case PUT -> s.append(" -> ok");
                case APPEND -> s.append(" -> ").append(output.map(Operation::quote).orElse("(new value not reported)"));
                case GET -> s.append(" -> ").append(output.map(Operation::quote).orElse("not found"));
                case DELETE -> s.append(" -> ").append(output.map(n -> "deleted " + n).orElse("(count not reported)"));
                case CAS, TXN -> s.append(" -> ").append(succeeded.orElseThrow() ? "succeeded"
                        : "failed, value " + output.map(Operation::quote).orElse("absent"));
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
