package io.raftkv.linearizability;

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
 * append whose new value is not known, and for any operation with {@code "ok":false}. Blank lines
 * are skipped on reading.
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

    public static History readJsonLines(Path file) throws IOException {
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            return readJsonLines(in);
        }
    }

    public static History readJsonLines(Reader reader) throws IOException {
        BufferedReader in = reader instanceof BufferedReader b ? b : new BufferedReader(reader);
        List<Operation> ops = new ArrayList<>();
        String line;
        int lineNo = 0;
        while ((line = in.readLine()) != null) {
            lineNo++;
            if (line.isBlank()) continue;
            try {
                ops.add(fromJson(JSON.readTree(line)));
            } catch (JsonProcessingException | IllegalArgumentException | ArithmeticException e) {
                throw new IOException("history line " + lineNo + ": " + e.getMessage() + ": " + line, e);
            }
        }
        return new History(ops);
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
        return n;
    }

    private static Operation fromJson(JsonNode n) {
        if (!n.isObject()) throw new IllegalArgumentException("not a JSON object");
        return new Operation(
                Math.toIntExact(integral(n, "client")),
                Operation.Kind.fromJsonName(text(n, "op")),
                text(n, "key"),
                optionalText(n, "value"),
                optionalText(n, "output"),
                integral(n, "call"),
                integral(n, "return"),
                bool(n, "ok"));
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
