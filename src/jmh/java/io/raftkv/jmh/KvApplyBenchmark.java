package io.raftkv.jmh;

import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvStateMachine;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Applying one committed PUT: {@link KvCommand#decode} of the entry's bytes, then
 * {@link KvStateMachine#apply}, over 1,024 keys with 64-byte values. With {@code session=true}
 * the commands carry a client session (as RaftKvClient sends them), so the apply also checks and
 * updates the session table. The commands are encoded up front (65,536 of them, seq 1, 2, ...);
 * when they run out the state machine starts over (a fresh one, the session registered again),
 * once per 65,536 operations.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class KvApplyBenchmark {
    @Param({"false", "true"})
    public boolean session;

    private static final int COMMANDS = 1 << 16;
    private static final int KEYS = 1024;
    /** The register entry is index 1, so the session's client id is 1. */
    private static final long CLIENT_ID = 1;
    private static final long NOW_MS = 1_700_000_000_000L;

    private byte[][] encoded;
    private KvStateMachine sm;
    private long index;
    private int next;
    /** Results other than Applied (a duplicate, an expired session): must stay 0. */
    private long notApplied;

    @Setup(Level.Trial)
    public void encode() {
        String value = "v".repeat(64);
        encoded = new byte[COMMANDS][];
        for (int i = 0; i < COMMANDS; i++) {
            String key = String.format("key-%06d", i % KEYS);
            KvCommand cmd = session
                    ? new KvCommand(KvCommand.Op.PUT, key, value, CLIENT_ID, i + 1, NOW_MS)
                    : new KvCommand(KvCommand.Op.PUT, key, value);
            encoded[i] = cmd.encode();
        }
        restart();
    }

    private void restart() {
        sm = new KvStateMachine();
        index = 0;
        next = 0;
        if (session && !(sm.apply(++index, KvCommand.register().withTimestamp(NOW_MS)) instanceof ApplyResult.Registered r && r.clientId() == CLIENT_ID))
            throw new IllegalStateException("session not registered as client " + CLIENT_ID);
    }

    @Benchmark
    public ApplyResult decodeAndApply() {
        if (next == COMMANDS) restart();
        ApplyResult r = sm.apply(++index, KvCommand.decode(encoded[next++]));
        if (!(r instanceof ApplyResult.Applied)) notApplied++;
        return r;
    }

    @Setup(Level.Iteration)
    public void check() {
        if (sm.appliedIndex() != index) throw new IllegalStateException("applied " + sm.appliedIndex() + " != " + index);
        if (index > (session ? 1 : 0) && !(sm.get("key-000000").orElse("").length() == 64))
            throw new IllegalStateException("PUTs were not applied");
        if (notApplied > 0) throw new IllegalStateException(notApplied + " commands were not applied");
    }
}
