package io.raftkv.jmh;

import io.raftkv.raft.Entry;
import io.raftkv.raft.Message;
import io.raftkv.raft.Message.AppendEntries;
import io.raftkv.raft.Message.AppendEntriesResponse;
import io.raftkv.transport.MessageCodec;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The peer wire format, {@link MessageCodec#encode(Message)} and {@link MessageCodec#decode(byte[])}
 * (whatever codec is current), on the two messages of steady replication: an AppendEntries with
 * 16 entries of 64 bytes each and the AppendEntriesResponse that acknowledges it. Scores are
 * operations per second; the setup checks that decode(encode(m)) gives m back.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class MessageCodecBenchmark {
    private AppendEntries appendEntries;
    private AppendEntriesResponse response;
    private byte[] appendEntriesBytes;
    private byte[] responseBytes;

    @Setup(Level.Trial)
    public void messages() {
        Random random = new Random(42);
        List<Entry> entries = new ArrayList<>();
        long term = 7;
        long prev = 1_000_000;
        for (int i = 1; i <= 16; i++) {
            byte[] data = new byte[64];
            random.nextBytes(data);
            entries.add(new Entry(prev + i, term, data));
        }
        appendEntries = new AppendEntries(1, 2, term, prev, term, entries, prev - 16);
        response = AppendEntriesResponse.accept(2, 1, term, prev + 16);
        appendEntriesBytes = MessageCodec.encode(appendEntries);
        responseBytes = MessageCodec.encode(response);
        if (!MessageCodec.decode(appendEntriesBytes).equals(appendEntries))
            throw new IllegalStateException("AppendEntries does not survive encode/decode");
        if (!MessageCodec.decode(responseBytes).equals(response))
            throw new IllegalStateException("AppendEntriesResponse does not survive encode/decode");
        System.out.println(System.lineSeparator() + "encoded sizes: AppendEntries(16 x 64 B) " + appendEntriesBytes.length
                + " bytes, AppendEntriesResponse " + responseBytes.length + " bytes");
    }

    @Benchmark
    public byte[] appendEntriesEncode() {
        return MessageCodec.encode(appendEntries);
    }

    @Benchmark
    public Message appendEntriesDecode() {
        return MessageCodec.decode(appendEntriesBytes);
    }

    @Benchmark
    public byte[] responseEncode() {
        return MessageCodec.encode(response);
    }

    @Benchmark
    public Message responseDecode() {
        return MessageCodec.decode(responseBytes);
    }
}
