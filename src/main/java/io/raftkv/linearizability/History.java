package io.raftkv.linearizability;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A history: the completed operations of all clients, in any order (the checker orders them by
 * time). Immutable.
 *
 * <p>On disk it is JSON Lines, one operation per line, fields in this order:
 * <pre>
 * {"client":3,"op":"append","key":"k","value":"x","output":"ax","call":1200,"return":1850,"ok":true}
 * </pre>
 * {@code value} is null for a get; {@code output} is null for a get that found nothing, for an
 * append whose new value is not known, and for any operation with {@code "ok":false}. A delete has
 * no value and outputs "1" or "0" (the keys deleted). A cas or txn adds {@code "expected"} (null:
 * expect the key absent) and {@code "succeeded"} (null when not known); its value is what it writes
 * (null: a txn that deletes), its output the value a failed one reported (see {@link Operation}):
 * <pre>
 * {"client":1,"op":"cas","key":"k","value":"b","output":"x","call":10,"return":40,"ok":true,"expected":"a","succeeded":false}
 * </pre>
 * Blank lines
 * are skipped on reading, other fields are ignored; anything else that is not one operation per
 * line is a {@link HistoryFormatException} naming the line.
 */
public final class History {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<Operation> operations;

    private History(List<Operation> operations) {
        this.operations = List.copyOf(operations);
    }

    public static History of(List<Operation> operations) {
        return new History(operations);
    }

    public static History of(Operation... operations) {
        return new History(List.of(operations));
    }

    public List<Operation> operations() {
        return operations;
    }

    public int size() {
        return operations.size();
    }

    /** The sub-histories per key, each in this history's order; keys in first-seen order. */
    public Map<String, List<Operation>> byKey() {
        Map<String, List<Operation>> parts = new LinkedHashMap<>();
        for (Operation op : operations) parts.computeIfAbsent(op.key(), k -> new ArrayList<>()).add(op);
        return parts;
    }

    // ---- JSON Lines ----

    /**
     * Reads a history file. Each line is decoded on its own (strict UTF-8), so a bad byte is
     * reported on its own line; a malformed line is a {@link HistoryFormatException}.
     */
    public static History readJsonLines(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        List<Operation> ops = new ArrayList<>();
        int lineNo = 0;
        for (int start = 0; start < bytes.length; ) {
            int end = start;
            while (end < bytes.length && bytes[end] != '\n') end++;
            lineNo++;
            int contentEnd = end > start && bytes[end - 1] == '\r' ? end - 1 : end;
            String line;
            try {
                line = StandardCharsets.UTF_8.newDecoder()
                        .decode(ByteBuffer.wrap(bytes, start, contentEnd - start)).toString();
            } catch (CharacterCodingException e) {
                throw new HistoryFormatException(lineNo, "not UTF-8 text", null, e);
            }
            parseLine(line, lineNo, ops);
            start = end + 1;
        }
        return new History(ops);
    }

    /** Reads a history from text; a malformed line is a {@link HistoryFormatException}. */
    public static History readJsonLines(Reader reader) throws IOException {
        BufferedReader in = reader instanceof BufferedReader b ? b : new BufferedReader(reader);
        List<Operation> ops = new ArrayList<>();
        String line;
        int lineNo = 0;
        while ((line = in.readLine()) != null) parseLine(line, ++lineNo, ops);
        return new History(ops);
    }

    /** Adds the operation on {@code line} to {@code ops}; a blank line has none. */
    private static void parseLine(String line, int lineNo, List<Operation> ops) throws HistoryFormatException {
        if (line.isBlank()) return;
        JsonNode n;
        int secondValueColumn = 0;
        try (JsonParser p = JSON.createParser(line)) {
            n = JSON.readTree(p);
            // one operation per line: a second value on it would otherwise be dropped unseen
            if (p.nextToken() != null) secondValueColumn = p.currentTokenLocation().getColumnNr();
        } catch (JsonProcessingException e) {
            throw new HistoryFormatException(lineNo, "not JSON: " + e.getOriginalMessage() + " (column "
                    + e.getLocation().getColumnNr() + ")", line, e);
        } catch (IOException e) {
            throw new IllegalStateException("reading a string cannot fail", e);
        }
        if (secondValueColumn > 0)
            throw new HistoryFormatException(lineNo, "more than one JSON value on the line (the next at column "
                    + secondValueColumn + ")", line, null);
        try {
            ops.add(fromJson(n));
        } catch (IllegalArgumentException e) {
            throw new HistoryFormatException(lineNo, e.getMessage(), line, e);
        }
    }

    public static History fromJsonLines(String text) {
        try {
            return readJsonLines(new StringReader(text));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public void writeJsonLines(Path file) throws IOException {
        try (Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            writeJsonLines(out);
        }
    }

    public void writeJsonLines(Writer out) throws IOException {
        for (Operation op : operations) {
            out.write(JSON.writeValueAsString(toJson(op)));
            out.write('\n');
        }
    }

    public String toJsonLines() {
        StringBuilder s = new StringBuilder();
        for (Operation op : operations) {
            try {
                s.append(JSON.writeValueAsString(toJson(op))).append('\n');
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("cannot encode " + op, e);
            }
        }
        return s.toString();
    }

    private static ObjectNode toJson(Operation op) {
        ObjectNode n = JSON.createObjectNode();
        n.put("client", op.client());
        n.put("op", op.kind().jsonName());
        n.put("key", op.key());
        n.put("value", op.value().orElse(null));
        n.put("output", op.output().orElse(null));
        n.put("call", op.callNs());
        n.put("return", op.returnNs());
        n.put("ok", op.ok());
        if (op.kind() == Operation.Kind.CAS || op.kind() == Operation.Kind.TXN) {
            n.put("expected", op.expected().orElse(null));
            if (op.succeeded().isPresent()) n.put("succeeded", op.succeeded().get());
            else n.putNull("succeeded");
        }
        return n;
    }

    private static Operation fromJson(JsonNode n) {
        if (!n.isObject()) throw new IllegalArgumentException("not a JSON object");
        long client = integral(n, "client");
        if (client != (int) client) throw new IllegalArgumentException("\"client\" is not a 32-bit integer: " + client);
        Operation.Kind kind = Operation.Kind.fromJsonName(text(n, "op"));
        Optional<String> value = optionalText(n, "value");
        if ((kind == Operation.Kind.GET || kind == Operation.Kind.DELETE) && value.isPresent())
            throw new IllegalArgumentException("a " + kind.jsonName() + " has no \"value\" (null or left out), found "
                    + n.get("value"));
        if ((kind == Operation.Kind.PUT || kind == Operation.Kind.APPEND || kind == Operation.Kind.CAS) && value.isEmpty())
            throw new IllegalArgumentException("missing \"value\": a " + kind.jsonName() + " has one");
        boolean conditional = kind == Operation.Kind.CAS || kind == Operation.Kind.TXN;
        Optional<String> expected = optionalText(n, "expected");
        Optional<Boolean> succeeded = optionalBool(n, "succeeded");
        if (!conditional && (expected.isPresent() || succeeded.isPresent()))
            throw new IllegalArgumentException("a " + kind.jsonName() + " has no \"expected\" or \"succeeded\"");
        return new Operation(
                (int) client,
                kind,
                text(n, "key"),
                value,
                optionalText(n, "output"),
                integral(n, "call"),
                integral(n, "return"),
                bool(n, "ok"),
                expected,
                succeeded);
    }

    private static Optional<Boolean> optionalBool(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return Optional.empty();
        if (!v.isBoolean()) throw new IllegalArgumentException("\"" + field + "\" is not a boolean or null: " + v);
        return Optional.of(v.booleanValue());
    }

    private static JsonNode required(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) throw new IllegalArgumentException("missing \"" + field + "\"");
        return v;
    }

    private static long integral(JsonNode n, String field) {
        JsonNode v = required(n, field);
        if (!v.isIntegralNumber() || !v.canConvertToLong())
            throw new IllegalArgumentException("\"" + field + "\" is not a 64-bit integer: " + v);
        return v.longValue();
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = required(n, field);
        if (!v.isTextual()) throw new IllegalArgumentException("\"" + field + "\" is not a string: " + v);
        return v.textValue();
    }

    private static boolean bool(JsonNode n, String field) {
        JsonNode v = required(n, field);
        if (!v.isBoolean()) throw new IllegalArgumentException("\"" + field + "\" is not a boolean: " + v);
        return v.booleanValue();
    }

    private static Optional<String> optionalText(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return Optional.empty();
        if (!v.isTextual()) throw new IllegalArgumentException("\"" + field + "\" is not a string or null: " + v);
        return Optional.of(v.textValue());
    }

    @Override
    public String toString() {
        return "History" + operations;
    }
}
