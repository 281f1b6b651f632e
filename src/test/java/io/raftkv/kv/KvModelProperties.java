package io.raftkv.kv;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The KV state machine against a reference written independently here: a map ordered by the keys'
 * UTF-8 bytes, with etcd's revision rules. Random put, append, delete (key and prefix), cas and
 * txn commands over keys that share prefixes and include characters whose UTF-16 order differs
 * from their UTF-8 order; after each command the answer and the whole state agree, ranges agree,
 * a snapshot restores the same state, and every command's encoding decodes to itself while every
 * strict prefix of it is refused.
 */
class KvModelProperties {
    private static final List<String> KEYS = List.of("a", "a/", "a/b", "a/c", "b", "\uE000", "\uD83D\uDE00", "\uD83D\uDE00x");

    /** The reference: value, createRevision, modRevision, version per key, by UTF-8 bytes. */
    private record Ref(String value, long create, long mod, long version) {}

    private static int utf8Compare(String x, String y) {
        return Arrays.compareUnsigned(x.getBytes(StandardCharsets.UTF_8), y.getBytes(StandardCharsets.UTF_8));
    }

    @Provide
    Arbitrary<KvCommand> commands() {
        Arbitrary<String> key = Arbitraries.of(KEYS);
        Arbitrary<String> value = Arbitraries.of("", "x", "yy", "\uD83D\uDE00");
        Arbitrary<KvCommand> put = Combinators.combine(key, value).as((k, v) -> new KvCommand(KvCommand.Op.PUT, k, v));
        Arbitrary<KvCommand> append = Combinators.combine(key, value).as((k, v) -> new KvCommand(KvCommand.Op.APPEND, k, v));
        Arbitrary<KvCommand> delete = Combinators.combine(key, Arbitraries.of(true, false))
                .as((k, p) -> KvCommand.of(new KvOp.Delete(p ? k.substring(0, k.offsetByCodePoints(0, 1)) : k, p), 0, 0));
        Arbitrary<KvCommand> cas = Combinators.combine(key, value, value, Arbitraries.integers().between(0, 2))
                .as((k, old, v, kind) -> KvCommand.of(new KvOp.Cas(k, v, switch (kind) {
                    case 0 -> new KvOp.Expect.Value(old);
                    case 1 -> new KvOp.Expect.Absent();
                    default -> new KvOp.Expect.ModRevision(3);
                }), 0, 0));
        Arbitrary<KvCommand> txn = Combinators.combine(key, key, value, Arbitraries.longs().between(0, 3))
                .as((k1, k2, v, version) -> KvCommand.of(new KvOp.Txn(
                        List.of(new KvOp.Compare(k1, KvOp.Compare.Target.VERSION, KvOp.Compare.CmpOp.LT, version)),
                        List.of(new KvOp.Put(k1, v), new KvOp.Get(k2), new KvOp.Append(k2, v)),
                        List.of(new KvOp.Delete(k2, false), new KvOp.Get(k1))), 0, 0));
        return Arbitraries.oneOf(put, append, delete, cas, txn);
    }

    @Property(tries = 300)
    void theStateMachineFollowsTheReference(@ForAll @Size(max = 40) List<@net.jqwik.api.From("commands") KvCommand> cmds,
                                            @ForAll("prefixes") String rangePrefix) {
        KvStateMachine kv = new KvStateMachine();
        TreeMap<String, Ref> ref = new TreeMap<>(KvModelProperties::utf8Compare);
        long index = 0;
        for (KvCommand cmd : cmds) {
            index++;
            ApplyResult got = kv.apply(index, KvCommand.decode(cmd.encode()));
            ApplyResult expected = applyRef(ref, index, cmd);
            assertThat(got).as("index %d: %s", index, cmd).isEqualTo(expected);
            for (String k : KEYS) {
                Ref r = ref.get(k);
                assertThat(kv.entry(k)).as("key %s after index %d", k, index)
                        .isEqualTo(Optional.ofNullable(r).map(x -> new KeyValue(x.value(), x.create(), x.mod(), x.version())));
            }
        }
        // Ranges page through the keys in UTF-8 byte order, each once.
        List<String> paged = new ArrayList<>();
        String after = null;
        for (int guard = 0; guard < 20; guard++) {
            KvStateMachine.Range page = kv.range(null, null, rangePrefix, after, 2);
            page.kvs().forEach(e -> paged.add(e.getKey()));
            if (!page.more()) break;
            after = page.kvs().getLast().getKey();
        }
        assertThat(paged).isEqualTo(ref.keySet().stream().filter(k -> k.startsWith(rangePrefix)).toList());
        // A snapshot restores the same state.
        KvStateMachine copy = new KvStateMachine();
        copy.restore(kv.capture().encode());
        for (String k : KEYS) assertThat(copy.entry(k)).isEqualTo(kv.entry(k));
        assertThat(copy.appliedIndex()).isEqualTo(kv.appliedIndex());
    }

    @Provide
    Arbitrary<String> prefixes() {
        return Arbitraries.of("", "a", "a/", "\uD83D\uDE00", "z");
    }

    @Property(tries = 200)
    void everyCommandDecodesToItselfAndNoStrictPrefixDecodes(@ForAll("commands") KvCommand cmd) {
        byte[] bytes = cmd.encode();
        assertThat(KvCommand.decode(bytes)).isEqualTo(cmd);
        for (int n = 0; n < bytes.length; n++) {
            byte[] prefix = Arrays.copyOf(bytes, n);
            assertThatThrownBy(() -> KvCommand.decode(prefix)).as("a %d-byte prefix of %s", n, cmd)
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    // ---------------------------------------------------------------- the reference

    private static ApplyResult applyRef(TreeMap<String, Ref> ref, long index, KvCommand cmd) {
        return switch (cmd.op()) {
            case PUT -> new ApplyResult.Applied(write(ref, cmd.key(), cmd.value(), index).value());
            case APPEND -> new ApplyResult.Applied(write(ref, cmd.key(), valueOf(ref, cmd.key()) + cmd.value(), index).value());
            case DELETE -> {
                KvOp.Delete d = (KvOp.Delete) cmd.ext();
                yield new ApplyResult.Deleted(delete(ref, d.key(), d.prefix()));
            }
            case CAS -> {
                KvOp.Cas c = (KvOp.Cas) cmd.ext();
                Ref cur = ref.get(c.key());
                boolean holds = switch (c.expect()) {
                    case KvOp.Expect.Value v -> cur != null && cur.value().equals(v.value());
                    case KvOp.Expect.Absent a -> cur == null;
                    case KvOp.Expect.ModRevision r -> cur != null && cur.mod() == r.revision();
                };
                if (!holds) yield new ApplyResult.Cas(false, kvOf(cur));
                yield new ApplyResult.Cas(true, kvOf(write(ref, c.key(), c.value(), index)));
            }
            case TXN -> {
                KvOp.Txn t = (KvOp.Txn) cmd.ext();
                KvOp.Compare c = t.compare().getFirst();
                Ref cur = ref.get(c.key());
                boolean ok = (cur == null ? 0 : cur.version()) < (Long) c.operand();
                List<ApplyResult.OpResult> results = new ArrayList<>();
                for (KvOp op : ok ? t.success() : t.failure()) {
                    results.add(switch (op) {
                        case KvOp.Put p -> new ApplyResult.OpResult("put", p.key(), kvOf(write(ref, p.key(), p.value(), index)), 0);
                        case KvOp.Append a -> new ApplyResult.OpResult("append", a.key(),
                                kvOf(write(ref, a.key(), valueOf(ref, a.key()) + a.value(), index)), 0);
                        case KvOp.Delete d -> new ApplyResult.OpResult("delete", d.key(), null, delete(ref, d.key(), d.prefix()));
                        case KvOp.Get g -> new ApplyResult.OpResult("get", g.key(), kvOf(ref.get(g.key())), 0);
                        default -> throw new IllegalStateException(op.toString());
                    });
                }
                yield new ApplyResult.Txn(ok, results);
            }
            default -> throw new IllegalStateException(cmd.toString());
        };
    }

    private static String valueOf(Map<String, Ref> ref, String key) {
        Ref r = ref.get(key);
        return r == null ? "" : r.value();
    }

    private static Ref write(Map<String, Ref> ref, String key, String value, long index) {
        Ref old = ref.get(key);
        Ref now = old == null ? new Ref(value, index, index, 1) : new Ref(value, old.create(), index, old.version() + 1);
        ref.put(key, now);
        return now;
    }

    private static long delete(TreeMap<String, Ref> ref, String key, boolean prefix) {
        List<String> gone = ref.keySet().stream().filter(k -> prefix ? k.startsWith(key) : k.equals(key)).toList();
        gone.forEach(ref::remove);
        return gone.size();
    }

    private static KeyValue kvOf(Ref r) {
        return r == null ? null : new KeyValue(r.value(), r.create(), r.mod(), r.version());
    }
}
