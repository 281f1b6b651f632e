package io.raftkv.transport;

import io.raftkv.raft.Configuration;
import io.raftkv.raft.Entry;
import io.raftkv.raft.Message;
import io.raftkv.raft.Message.AppendEntries;
import io.raftkv.raft.Message.AppendEntriesResponse;
import io.raftkv.raft.Message.InstallSnapshot;
import io.raftkv.raft.Message.InstallSnapshotResponse;
import io.raftkv.raft.Message.RequestVote;
import io.raftkv.raft.Message.RequestVoteResponse;
import io.raftkv.raft.RaftNode;
import io.raftkv.raft.Message.TimeoutNow;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Tuple;
import net.jqwik.api.Tuple.Tuple2;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/** Generators of arbitrary Raft messages, and the comparison their round trips need. */
final class Messages {
    private Messages() {}

    /**
     * Messages of every type with any field values jqwik likes (its edge cases include 0, -1 and
     * the extremes), entry data up to {@code maxData} bytes and up to {@code maxEntries} entries.
     */
    static Arbitrary<Message> any(int maxData, int maxEntries) {
        Arbitrary<Integer> id = Arbitraries.integers();
        Arbitrary<Long> n = Arbitraries.longs();
        Arbitrary<Boolean> bool = Arbitraries.of(true, false);
        Arbitrary<byte[]> data = data(maxData);
        return Arbitraries.oneOf(
                Combinators.combine(id, id, n, n, n, bool, bool).as(RequestVote::new),
                Combinators.combine(id, id, n, bool, bool).as(RequestVoteResponse::new),
                Combinators.combine(id, id, n, n, n, entries(data, maxEntries), n, n).as(AppendEntries::new),
                Combinators.combine(id, id, n, bool, n, n, n, n).flatAs((from, to, term, success, match, rejected,
                        conflictTerm, conflictIndex) -> n.map(readContext -> new AppendEntriesResponse(from, to, term,
                        success, match, rejected, conflictTerm, conflictIndex, readContext))),
                Combinators.combine(id, id, n, n, n, configurations(), n, data).flatAs((from, to, term, index, snapTerm,
                        configuration, offset, bytes) -> bool.map(done -> new InstallSnapshot(from, to, term, index,
                        snapTerm, configuration, offset, bytes, done))),
                Combinators.combine(id, id, n, n, n, bool).as(InstallSnapshotResponse::new),
                Combinators.combine(id, id, n).as(TimeoutNow::new));
    }

    /**
     * Mostly small arrays that shrink well; now and then one up to {@code max} bytes, filled from a
     * seed because generating each byte of a large array through jqwik is slow.
     */
    static Arbitrary<byte[]> data(int max) {
        Arbitrary<byte[]> small = Arbitraries.bytes().array(byte[].class).ofMaxSize(Math.min(max, 32));
        if (max <= 32) return small;
        Arbitrary<byte[]> large = Combinators.combine(Arbitraries.integers().between(0, max), Arbitraries.longs())
                .as((size, seed) -> {
                    byte[] b = new byte[size];
                    new Random(seed).nextBytes(b);
                    return b;
                });
        return Arbitraries.frequencyOf(Tuple.of(9, small), Tuple.of(1, large));
    }

    /**
     * Thesis §4.1: configurations of up to 5 voters and 3 learners, with any ids (but {@code NONE})
     * and addresses of any Unicode text (each id in one role only).
     */
    static Arbitrary<Configuration> configurations() {
        Arbitrary<Integer> memberId = Arbitraries.integers().filter(i -> i != RaftNode.NONE);
        Arbitrary<String> address = Arbitraries.strings().ofMaxLength(20);
        return Combinators.combine(Arbitraries.maps(memberId, address).ofMaxSize(5),
                        Arbitraries.maps(memberId, address).ofMaxSize(3))
                .as((voters, learners) -> {
                    TreeMap<Integer, String> l = new TreeMap<>(learners);
                    l.keySet().removeAll(voters.keySet());
                    return new Configuration(new TreeMap<>(voters), l);
                });
    }

    /** Consecutive indexes from any first index that keeps the last one a long, with terms >= 1; some configuration entries. */
    static Arbitrary<List<Entry>> entries(Arbitrary<byte[]> data, int maxEntries) {
        Arbitrary<Long> term = Arbitraries.longs().between(1, Long.MAX_VALUE);
        Arbitrary<Tuple2<Entry.Type, byte[]>> normal = data.map(d -> Tuple.of(Entry.Type.NORMAL, d));
        Arbitrary<Tuple2<Entry.Type, byte[]>> config = configurations().map(c -> Tuple.of(Entry.Type.CONFIG, c.encode()));
        Arbitrary<Tuple2<Entry.Type, byte[]>> payload = Arbitraries.frequencyOf(Tuple.of(9, normal), Tuple.of(1, config));
        return Combinators.combine(term, payload).as(Tuple::of).list().ofMaxSize(maxEntries).flatMap(termsAndData ->
                Arbitraries.longs().between(1, Long.MAX_VALUE - Math.max(0, termsAndData.size() - 1))
                        .map(first -> consecutive(first, termsAndData)));
    }

    private static List<Entry> consecutive(long first, List<Tuple2<Long, Tuple2<Entry.Type, byte[]>>> termsAndData) {
        List<Entry> entries = new ArrayList<>(termsAndData.size());
        for (int i = 0; i < termsAndData.size(); i++) {
            Tuple2<Entry.Type, byte[]> payload = termsAndData.get(i).get2();
            entries.add(new Entry(first + i, termsAndData.get(i).get1(), payload.get1(), payload.get2()));
        }
        return entries;
    }

    /**
     * Equal field by field. Records compare array fields by reference, so InstallSnapshot needs
     * its data compared by content; AppendEntries is fine as is, since Entry's equals compares data.
     */
    static boolean same(Message a, Message b) {
        if (a instanceof InstallSnapshot x && b instanceof InstallSnapshot y) {
            return x.from() == y.from() && x.to() == y.to() && x.term() == y.term()
                    && x.snapshotIndex() == y.snapshotIndex() && x.snapshotTerm() == y.snapshotTerm()
                    && x.configuration().equals(y.configuration())
                    && x.offset() == y.offset() && x.done() == y.done() && Arrays.equals(x.data(), y.data());
        }
        return a.equals(b);
    }

    static void assertSame(Message actual, Message expected) {
        assertThat(same(actual, expected)).as("decoded %s, expected %s", actual, expected).isTrue();
    }
}
