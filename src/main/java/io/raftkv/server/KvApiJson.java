package io.raftkv.server;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KeyValue;
import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvOp;
import io.raftkv.kv.KvStateMachine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The JSON of the KV API beyond put and append (etcd's model): {@code POST /delete},
 * {@code POST /cas}, {@code POST /txn} bodies into commands, and results into answers. Every bad
 * body is a {@link Bad} whose message says what to send instead.
 */
final class KvApiJson {
    /** etcd's default --max-txn-ops. */
    static final int MAX_TXN_OPS = 128;
    static final String DELETE_USAGE = "; send {\"key\":\"k\"} or {\"prefix\":\"p\"}";
    static final String CAS_USAGE = "; send {\"key\":\"k\",\"value\":\"v\"} with one of \"expectedValue\":\"old\","
            + " \"expectedModRevision\":R or \"expectAbsent\":true";
    static final String TXN_USAGE = "; send {\"compare\":[{\"key\":\"k\",\"target\":\"value|modRevision|createRevision|"
            + "version|exists\",\"op\":\"==|!=|<|>\",\"operand\":...}],\"success\":[ops],\"failure\":[ops]} with ops"
            + " {\"op\":\"put|append\",\"key\":\"k\",\"value\":\"v\"}, {\"op\":\"delete\",\"key\":\"k\"} (or \"prefix\")"
            + " and {\"op\":\"get\",\"key\":\"k\"}";
    /**
     * A body is one JSON value: {@code {...} garbage} or two objects in a row are malformed, not the
     * first object; a field given twice is ambiguous, not its last value.
     */
    private static final ObjectReader BODY_READER = HttpApi.JSON.reader()
            .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);

    private KvApiJson() {}

    /** A request that cannot be run as sent: its status (400 or 413) and what to fix. */
    static final class Bad extends Exception {
        final HttpResponseStatus status;

        Bad(HttpResponseStatus status, String message) {
            super(message, null, false, false);
            this.status = status;
        }

        Bad(String message) {
            this(HttpResponseStatus.BAD_REQUEST, message);
        }
    }

    /** Key and value limits of the node (UTF-8 bytes). */
    record Limits(int maxKeyBytes, int maxValueBytes) {}

    /** The command of {@code POST /<op>} for op delete, cas or txn, in the session the body names (if any). */
    static KvCommand parse(String op, byte[] body, Limits limits) throws Bad {
        String usage = switch (op) {
            case "delete" -> DELETE_USAGE;
            case "cas" -> CAS_USAGE;
            case "txn" -> TXN_USAGE;
            case "lease/grant" -> LEASE_GRANT_USAGE;
            case "lease/keepalive", "lease/revoke" -> "; send {\"leaseId\":ID}";
            default -> throw new IllegalArgumentException("no operation " + op);
        };
        JsonNode o = readObject(body, usage);
        KvOp ext = switch (op) {
            case "delete" -> {
                only(o, Set.of("key", "prefix", "clientId", "seq"), usage);
                boolean hasKey = o.hasNonNull("key");
                boolean hasPrefix = o.hasNonNull("prefix");
                if (hasKey == hasPrefix) throw new Bad("give exactly one of 'key' and 'prefix'" + usage);
                String k = hasKey ? key(o, "key", limits, usage) : string(o, "prefix", usage);
                if (hasPrefix) checkKeyBytes(k, "prefix", limits);
                yield new KvOp.Delete(k, hasPrefix);
            }
            case "lease/grant" -> {
                only(o, Set.of("ttlMs", "clientId", "seq"), usage);
                JsonNode ttl = o.get("ttlMs");
                if (ttl == null || ttl.isNull()) throw new Bad("missing field 'ttlMs'" + usage);
                if (!ttl.isIntegralNumber() || !ttl.canConvertToLong() || ttl.asLong() < MIN_LEASE_TTL_MS
                        || ttl.asLong() > MAX_LEASE_TTL_MS) {
                    throw new Bad("'ttlMs' must be an integer from " + MIN_LEASE_TTL_MS + " to " + MAX_LEASE_TTL_MS
                            + " (milliseconds), not " + ttl + usage);
                }
                yield new KvOp.LeaseGrant(ttl.asLong());
            }
            case "lease/keepalive" -> {
                only(o, Set.of("leaseId", "clientId", "seq"), usage);
                yield new KvOp.LeaseKeepAlive(leaseId(o.get("leaseId"), usage));
            }
            case "lease/revoke" -> {
                only(o, Set.of("leaseId", "clientId", "seq"), usage);
                yield new KvOp.LeaseRevoke(leaseId(o.get("leaseId"), usage));
            }
            case "cas" -> {
                only(o, Set.of("key", "value", "expectedValue", "expectedModRevision", "expectAbsent", "lease", "clientId",
                        "seq"), usage);
                String k = key(o, "key", limits, usage);
                String v = value(o, "value", limits, usage);
                List<KvOp.Expect> expects = new ArrayList<>();
                if (o.has("expectedValue")) expects.add(new KvOp.Expect.Value(string(o, "expectedValue", usage)));
                if (o.has("expectedModRevision")) {
                    expects.add(new KvOp.Expect.ModRevision(nonNegative(o.get("expectedModRevision"), "expectedModRevision", usage)));
                }
                if (o.has("expectAbsent")) {
                    JsonNode a = o.get("expectAbsent");
                    if (!a.isBoolean() || !a.asBoolean()) throw new Bad("'expectAbsent' can only be true" + usage);
                    expects.add(new KvOp.Expect.Absent());
                }
                if (expects.size() != 1) throw new Bad("give exactly one expectation" + usage);
                yield new KvOp.Cas(k, v, expects.getFirst(), o.hasNonNull("lease") ? leaseId(o.get("lease"), usage) : 0);
            }
            default -> txn(o, limits);
        };
        long clientId = optionalPositive(o, "clientId");
        long seq = optionalPositive(o, "seq");
        if ((clientId == 0) != (seq == 0)) {
            throw new Bad("send 'clientId' and 'seq' together (or neither); get a clientId from POST /session and"
                    + " number writes 1, 2, 3, ...");
        }
        KvCommand cmd = KvCommand.of(ext, clientId, seq);
        // One log entry must reach a follower in one peer request: no larger than the largest put.
        long budget = NodeConfig.ONE_ENTRY_OVERHEAD_BYTES + limits.maxKeyBytes() + (long) limits.maxValueBytes();
        int size = cmd.encode().length;
        if (size + commandFraming() > budget) {
            throw new Bad(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "this " + op + " makes a log entry of " + size
                    + " bytes; the limit is that of the largest put (--max-key-bytes " + limits.maxKeyBytes()
                    + " plus --max-value-bytes " + limits.maxValueBytes() + "): split it");
        }
        return cmd;
    }

    /** The body of a JSON request: one object, each field once; {@code usage} says what to send instead. */
    static ObjectNode readObject(byte[] body, String usage) throws Bad {
        if (body.length == 0) throw new Bad("empty request body" + usage);
        JsonNode o;
        try {
            o = BODY_READER.readTree(body);
        } catch (StreamReadException e) {
            // Jackson's own message names its classes and features: only the duplicate is worth repeating.
            String why = e.getOriginalMessage();
            Matcher twice = DUPLICATE_FIELD.matcher(why == null ? "" : why);
            throw new Bad(twice.lookingAt() ? "field '" + twice.group(1) + "' is given twice" + usage
                    : "malformed JSON" + usage);
        } catch (IOException e) {
            throw new Bad("malformed JSON" + usage);
        }
        if (o == null || !o.isObject()) throw new Bad("body must be a JSON object" + usage);
        return (ObjectNode) o;
    }

    private static final Pattern DUPLICATE_FIELD = Pattern.compile("Duplicate field '([^']*)'");

    /** What the AppendEntries adds to an encoded command (the overhead less the put command's own header and lengths). */
    private static long commandFraming() {
        return NodeConfig.ONE_ENTRY_OVERHEAD_BYTES - new KvCommand(KvCommand.Op.PUT, "", "", 1, 1, 1).encode().length;
    }

    private static KvOp.Txn txn(JsonNode o, Limits limits) throws Bad {
        only(o, Set.of("compare", "success", "failure", "clientId", "seq"), TXN_USAGE);
        List<KvOp.Compare> compares = new ArrayList<>();
        for (JsonNode c : array(o, "compare")) {
            if (!c.isObject()) throw new Bad("each comparison must be an object" + TXN_USAGE);
            only(c, Set.of("key", "target", "op", "operand"), TXN_USAGE);
            String key = key(c, "key", limits, TXN_USAGE);
            String t = string(c, "target", TXN_USAGE);
            KvOp.Compare.Target target = switch (t) {
                case "value" -> KvOp.Compare.Target.VALUE;
                case "modRevision" -> KvOp.Compare.Target.MOD_REVISION;
                case "createRevision" -> KvOp.Compare.Target.CREATE_REVISION;
                case "version" -> KvOp.Compare.Target.VERSION;
                case "exists" -> KvOp.Compare.Target.EXISTS;
                default -> throw new Bad("unknown compare target '" + t + "'" + TXN_USAGE);
            };
            KvOp.Compare.CmpOp op;
            try {
                op = KvOp.Compare.CmpOp.of(string(c, "op", TXN_USAGE));
            } catch (IllegalArgumentException e) {
                throw new Bad(e.getMessage() + TXN_USAGE);
            }
            JsonNode operand = c.get("operand");
            if (operand == null || operand.isNull()) throw new Bad("comparison of '" + key + "' has no 'operand'" + TXN_USAGE);
            Object value = switch (target) {
                case VALUE -> {
                    if (!operand.isTextual()) throw new Bad("a value comparison's operand must be a string" + TXN_USAGE);
                    yield operand.asText();
                }
                case EXISTS -> {
                    if (!operand.isBoolean()) throw new Bad("an exists comparison's operand must be true or false" + TXN_USAGE);
                    yield operand.asBoolean();
                }
                default -> nonNegative(operand, t + " operand", TXN_USAGE);
            };
            try {
                compares.add(new KvOp.Compare(key, target, op, value));
            } catch (IllegalArgumentException e) {
                throw new Bad(e.getMessage() + TXN_USAGE);
            }
        }
        List<KvOp> success = ops(array(o, "success"), limits);
        List<KvOp> failure = ops(array(o, "failure"), limits);
        int total = compares.size() + success.size() + failure.size();
        if (total > MAX_TXN_OPS) {
            throw new Bad(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "the transaction has " + total
                    + " comparisons and operations; the limit is " + MAX_TXN_OPS + ": split it");
        }
        return new KvOp.Txn(compares, success, failure);
    }

    private static List<KvOp> ops(List<JsonNode> nodes, Limits limits) throws Bad {
        List<KvOp> ops = new ArrayList<>();
        for (JsonNode n : nodes) {
            if (!n.isObject()) throw new Bad("each operation must be an object" + TXN_USAGE);
            String op = string(n, "op", TXN_USAGE);
            ops.add(switch (op) {
                case "put" -> {
                    only(n, Set.of("op", "key", "value"), TXN_USAGE);
                    yield new KvOp.Put(key(n, "key", limits, TXN_USAGE), value(n, "value", limits, TXN_USAGE));
                }
                case "append" -> {
                    only(n, Set.of("op", "key", "value"), TXN_USAGE);
                    yield new KvOp.Append(key(n, "key", limits, TXN_USAGE), value(n, "value", limits, TXN_USAGE));
                }
                case "delete" -> {
                    only(n, Set.of("op", "key", "prefix"), TXN_USAGE);
                    boolean hasKey = n.hasNonNull("key");
                    if (hasKey == n.hasNonNull("prefix")) throw new Bad("a delete gives exactly one of 'key' and 'prefix'" + TXN_USAGE);
                    String k = hasKey ? key(n, "key", limits, TXN_USAGE) : string(n, "prefix", TXN_USAGE);
                    if (!hasKey) checkKeyBytes(k, "prefix", limits);
                    yield new KvOp.Delete(k, !hasKey);
                }
                case "get" -> {
                    only(n, Set.of("op", "key"), TXN_USAGE);
                    yield new KvOp.Get(key(n, "key", limits, TXN_USAGE));
                }
                default -> throw new Bad("unknown operation '" + op + "'" + TXN_USAGE);
            });
        }
        return ops;
    }

    private static List<JsonNode> array(JsonNode o, String name) throws Bad {
        JsonNode a = o.get(name);
        if (a == null || a.isNull()) return List.of();
        if (!a.isArray()) throw new Bad("'" + name + "' must be an array" + TXN_USAGE);
        List<JsonNode> out = new ArrayList<>();
        a.forEach(out::add);
        if (out.size() > MAX_TXN_OPS) {
            throw new Bad(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "'" + name + "' has " + out.size()
                    + " items; a transaction holds at most " + MAX_TXN_OPS + ": split it");
        }
        return out;
    }

    static void only(JsonNode o, Set<String> allowed, String usage) throws Bad {
        for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!allowed.contains(f)) throw new Bad("unknown field '" + f + "'" + usage);
        }
    }

    private static String string(JsonNode o, String name, String usage) throws Bad {
        JsonNode n = o.get(name);
        if (n == null || n.isNull()) throw new Bad("missing field '" + name + "'" + usage);
        if (!n.isTextual()) throw new Bad("field '" + name + "' must be a string" + usage);
        String text = n.asText();
        OptionalInt bad = ValidText.loneSurrogateIndex(text);
        if (bad.isPresent()) {
            throw new Bad("field '" + name + "' is not valid Unicode: a lone surrogate at char " + bad.getAsInt()
                    + "; send Unicode text");
        }
        return text;
    }

    private static String key(JsonNode o, String name, Limits limits, String usage) throws Bad {
        String k = string(o, name, usage);
        if (k.isEmpty()) throw new Bad("key must not be empty" + usage);
        checkKeyBytes(k, "key", limits);
        return k;
    }

    private static void checkKeyBytes(String k, String what, Limits limits) throws Bad {
        int bytes = k.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > limits.maxKeyBytes()) {
            throw new Bad(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, what + " is " + bytes + " bytes; the limit is "
                    + limits.maxKeyBytes() + " bytes");
        }
    }

    private static String value(JsonNode o, String name, Limits limits, String usage) throws Bad {
        String v = string(o, name, usage);
        int bytes = v.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > limits.maxValueBytes()) {
            throw new Bad(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "value is " + bytes + " bytes; the limit is "
                    + limits.maxValueBytes() + " bytes");
        }
        return v;
    }

    private static long nonNegative(JsonNode n, String name, String usage) throws Bad {
        if (n == null || !n.isIntegralNumber() || !n.canConvertToLong() || n.asLong() < 0) {
            throw new Bad("'" + name + "' must be an integer >= 0" + usage);
        }
        return n.asLong();
    }

    /** Shortest and longest lease TTL: a lease shorter than an election could expire while nobody can renew it. */
    static final long MIN_LEASE_TTL_MS = 1_000;
    static final long MAX_LEASE_TTL_MS = 365L * 24 * 3600 * 1000;
    static final String LEASE_GRANT_USAGE = "; send {\"ttlMs\":N} with N from " + MIN_LEASE_TTL_MS + " to " + MAX_LEASE_TTL_MS;

    static long leaseId(JsonNode n, String usage) throws Bad {
        if (n == null || n.isNull()) throw new Bad("missing lease id" + usage);
        if (!n.isIntegralNumber() || !n.canConvertToLong() || n.asLong() < 1) {
            throw new Bad("a lease id is a positive integer (from POST /lease/grant), not " + n + usage);
        }
        return n.asLong();
    }

    /** {@code GET /lease}'s answer. */
    static ObjectNode lease(KvStateMachine.LeaseInfo l, long clusterTimeMs) {
        ObjectNode o = HttpApi.JSON.createObjectNode().put("leaseId", l.id()).put("ttlMs", l.ttlMs())
                .put("remainingMs", Math.max(0, l.expiresAtMs() - clusterTimeMs));
        ArrayNode keys = o.putArray("keys");
        l.keys().forEach(keys::add);
        return o;
    }

    private static long optionalPositive(JsonNode o, String name) throws Bad {
        JsonNode n = o.get(name);
        if (n == null || n.isNull()) return 0;
        if (!n.isIntegralNumber() || !n.canConvertToLong() || n.asLong() < 1) {
            throw new Bad("field '" + name + "' must be a positive integer");
        }
        return n.asLong();
    }

    // ---------------------------------------------------------------- answers

    /** A key's value and revisions, as get, range, cas and txn show them. */
    static ObjectNode kv(String key, KeyValue kv) {
        ObjectNode o = HttpApi.JSON.createObjectNode();
        if (key != null) o.put("key", key);
        o.put("value", kv.value()).put("createRevision", kv.createRevision())
                .put("modRevision", kv.modRevision()).put("version", kv.version());
        if (kv.lease() != 0) o.put("lease", kv.lease());
        return o;
    }

    /** The body of a delete's, cas's or txn's answer ({@code revision}: its entry's index). */
    static ObjectNode result(ApplyResult r, long revision) {
        ObjectNode o = HttpApi.JSON.createObjectNode().put("ok", true);
        switch (r) {
            case ApplyResult.Deleted d -> o.put("deleted", d.count());
            case ApplyResult.Cas c -> {
                o.put("succeeded", c.succeeded());
                if (c.current() == null) o.putNull("current");
                else o.set("current", kv(null, c.current()));
            }
            case ApplyResult.Txn t -> {
                o.put("succeeded", t.succeeded());
                ArrayNode results = o.putArray("results");
                for (ApplyResult.OpResult op : t.results()) {
                    ObjectNode x = results.addObject().put("op", op.op()).put("key", op.key());
                    switch (op.op()) {
                        case "delete" -> x.put("deleted", op.deleted());
                        case "get" -> {
                            if (op.kv() == null) x.put("found", false);
                            else x.setAll(kv(null, op.kv()).put("found", true));
                        }
                        default -> x.setAll(kv(null, op.kv()));
                    }
                }
            }
            case ApplyResult.Lease l -> o.put("leaseId", l.leaseId()).put("ttlMs", l.ttlMs());
            case ApplyResult.LeaseEnded l -> o.put("leaseId", l.leaseId()).put("deleted", l.deleted());
            default -> throw new IllegalArgumentException("no answer body for " + r);
        }
        o.put("revision", revision);
        return o;
    }

    /** {@code GET /range}'s answer. */
    static ObjectNode range(KvStateMachine.Range r) {
        ObjectNode o = HttpApi.JSON.createObjectNode();
        ArrayNode kvs = o.putArray("kvs");
        for (Map.Entry<String, KeyValue> e : r.kvs()) kvs.add(kv(e.getKey(), e.getValue()));
        o.put("count", r.kvs().size()).put("more", r.more()).put("revision", r.revision());
        if (r.more()) o.put("next", r.kvs().getLast().getKey());
        return o;
    }
}
