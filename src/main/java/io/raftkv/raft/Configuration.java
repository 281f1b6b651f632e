package io.raftkv.raft;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The membership of the cluster (thesis ch. 4): voters, which elect leaders and whose majority
 * commits entries, and learners (§4.2.1), which receive the log but count in no quorum. Each
 * member has an id and an address; the core carries addresses for the runtime (which connects to
 * them) and never interprets them.
 *
 * <p>A configuration travels in the log as a {@link Entry.Type#CONFIG} entry and in snapshots,
 * encoded as:
 * <pre>
 *  version u8 (1)
 *  voterCount i32,   voterCount times:   id i32, addressLength i32, address (UTF-8)
 *  learnerCount i32, learnerCount times: id i32, addressLength i32, address (UTF-8)
 * </pre>
 * Ids ascend within each list, and no id is both a voter and a learner: decoding refuses anything
 * else, so the encoding is canonical (one byte string per configuration).
 *
 * <p>{@link #EMPTY} (no member) is the configuration of a node that joins an existing cluster: it
 * learns its configuration from the leader's log or snapshot. No change can lead to it (the last
 * voter cannot be removed).
 */
public record Configuration(SortedMap<Integer, String> voters, SortedMap<Integer, String> learners) {
    public static final Configuration EMPTY = new Configuration(new TreeMap<>(), new TreeMap<>());
    private static final byte FORMAT_VERSION = 1;

    public Configuration {
        voters = Collections.unmodifiableSortedMap(new TreeMap<>(voters));
        learners = Collections.unmodifiableSortedMap(new TreeMap<>(learners));
        for (var e : voters.entrySet()) checkMember(e.getKey(), e.getValue());
        for (var e : learners.entrySet()) {
            checkMember(e.getKey(), e.getValue());
            if (voters.containsKey(e.getKey()))
                throw new IllegalArgumentException("node " + e.getKey() + " is both a voter and a learner");
        }
    }

    private static void checkMember(Integer id, String address) {
        if (id == null || id == RaftNode.NONE) throw new IllegalArgumentException("member id " + id + " is reserved");
        if (address == null) throw new IllegalArgumentException("member " + id + " without an address");
    }

    /**
     * The configuration of a cluster started with a fixed list of voters (the original static
     * start), before the log or a snapshot says otherwise: the voters, with empty addresses.
     */
    public static Configuration bootstrap(Collection<Integer> voterIds) {
        TreeMap<Integer, String> v = new TreeMap<>();
        for (int id : voterIds) v.put(id, "");
        return new Configuration(v, new TreeMap<>());
    }

    public boolean isVoter(int id) {
        return voters.containsKey(id);
    }

    public boolean isLearner(int id) {
        return learners.containsKey(id);
    }

    public boolean contains(int id) {
        return isVoter(id) || isLearner(id);
    }

    public boolean isEmpty() {
        return voters.isEmpty() && learners.isEmpty();
    }

    /** Every member, voters and learners, by id. */
    public SortedSet<Integer> members() {
        TreeSet<Integer> all = new TreeSet<>(voters.keySet());
        all.addAll(learners.keySet());
        return Collections.unmodifiableSortedSet(all);
    }

    /** Every member's address, voters and learners, by id. */
    public SortedMap<Integer, String> addresses() {
        TreeMap<Integer, String> all = new TreeMap<>(voters);
        all.putAll(learners);
        return Collections.unmodifiableSortedMap(all);
    }

    public Optional<String> address(int id) {
        return Optional.ofNullable(voters.containsKey(id) ? voters.get(id) : learners.get(id));
    }

    /** The member that has {@code address}, if any. */
    public Optional<Integer> memberAt(String address) {
        for (var e : voters.entrySet()) if (e.getValue().equals(address)) return Optional.of(e.getKey());
        for (var e : learners.entrySet()) if (e.getValue().equals(address)) return Optional.of(e.getKey());
        return Optional.empty();
    }

    // ---------------------------------------------------------------- quorum arithmetic

    /**
     * Whether {@code id}'s acknowledgement, vote or activity counts towards a quorum of this
     * configuration: only voters' do. Learners (thesis §4.2.1) and servers outside the
     * configuration - a leader being removed (§4.2.2), a server being removed - never count. The
     * one predicate every quorum of the core (commit, votes, check-quorum, ReadIndex) goes through.
     */
    public boolean countsTowardQuorum(int id) {
        return voters.containsKey(id);
    }

    /** Votes (or acknowledgements) needed: a majority of the voters. */
    public int majority() {
        return Quorum.majority(voters.size());
    }

    /** Whether {@code ids} hold a majority of the voters (ids that are not voters do not count). */
    public boolean hasQuorum(Iterable<Integer> ids) {
        return countVoters(ids) >= majority();
    }

    /** How many of {@code ids} count towards a quorum. */
    public int countVoters(Iterable<Integer> ids) {
        int n = 0;
        for (int id : ids) if (countsTowardQuorum(id)) n++;
        return n;
    }

    // ---------------------------------------------------------------- changes

    /**
     * This configuration with {@code change} made, or why it cannot be made here (the checks that
     * need only the configuration; the leader adds its own, RaftNode#proposeConfChange).
     */
    public Optional<ConfChangeResult.Refused> refusal(ConfChange change) {
        return switch (change) {
            case ConfChange.AddLearner a -> {
                if (contains(a.id())) {
                    yield refused(ConfChangeResult.Reason.ALREADY_MEMBER, "node " + a.id() + " is already a "
                            + (isVoter(a.id()) ? "voter" : "learner"));
                }
                if (a.address().isBlank()) {
                    yield refused(ConfChangeResult.Reason.INVALID, "node " + a.id() + " needs an address");
                }
                yield memberAt(a.address()).flatMap(u -> refused(ConfChangeResult.Reason.ADDRESS_IN_USE, "address "
                        + a.address() + " is already used by node " + u));
            }
            case ConfChange.Promote p -> {
                if (isVoter(p.id())) yield refused(ConfChangeResult.Reason.NOT_A_LEARNER, "node " + p.id() + " is already a voter");
                if (!isLearner(p.id())) yield refused(ConfChangeResult.Reason.UNKNOWN_MEMBER, "node " + p.id() + " is not a member");
                yield Optional.empty();
            }
            case ConfChange.Remove r -> {
                if (!contains(r.id())) yield refused(ConfChangeResult.Reason.UNKNOWN_MEMBER, "node " + r.id() + " is not a member");
                if (isVoter(r.id()) && voters.size() == 1) {
                    yield refused(ConfChangeResult.Reason.LAST_VOTER, "node " + r.id() + " is the last voter");
                }
                yield Optional.empty();
            }
        };
    }

    private static Optional<ConfChangeResult.Refused> refused(ConfChangeResult.Reason reason, String message) {
        return Optional.of(new ConfChangeResult.Refused(reason, message));
    }

    /** This configuration with {@code change} made; {@link #refusal} must have found nothing against it. */
    public Configuration apply(ConfChange change) {
        refusal(change).ifPresent(r -> {
            throw new IllegalArgumentException("cannot " + change + " in " + this + ": " + r.message());
        });
        TreeMap<Integer, String> v = new TreeMap<>(voters);
        TreeMap<Integer, String> l = new TreeMap<>(learners);
        switch (change) {
            case ConfChange.AddLearner a -> l.put(a.id(), a.address());
            case ConfChange.Promote p -> v.put(p.id(), l.remove(p.id()));
            case ConfChange.Remove rm -> {
                v.remove(rm.id());
                l.remove(rm.id());
            }
        }
        return new Configuration(v, l);
    }

    // ---------------------------------------------------------------- encoding

    public byte[] encode() {
        int size = 1 + 4 + 4;
        for (String a : voters.values()) size += 8 + utf8(a).length;
        for (String a : learners.values()) size += 8 + utf8(a).length;
        ByteBuffer b = ByteBuffer.allocate(size);
        b.put(FORMAT_VERSION);
        putMembers(b, voters);
        putMembers(b, learners);
        return b.array();
    }

    private static void putMembers(ByteBuffer b, SortedMap<Integer, String> members) {
        b.putInt(members.size());
        for (var e : members.entrySet()) {
            byte[] a = utf8(e.getValue());
            b.putInt(e.getKey()).putInt(a.length).put(a);
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Decodes {@link #encode()}'s bytes; anything else (another version, a truncated or negative
     * count or length, ids out of order, an id twice, invalid UTF-8, trailing bytes) is an
     * {@link IllegalArgumentException} saying what is wrong.
     */
    public static Configuration decode(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        try {
            if (!b.hasRemaining()) throw new IllegalArgumentException("empty");
            byte version = b.get();
            if (version != FORMAT_VERSION) throw new IllegalArgumentException("format version " + version + ", expected 1");
            TreeMap<Integer, String> voters = members(b, "voter");
            TreeMap<Integer, String> learners = members(b, "learner");
            if (b.hasRemaining()) throw new IllegalArgumentException(b.remaining() + " trailing bytes");
            return new Configuration(voters, learners);
        } catch (java.nio.BufferUnderflowException e) {
            throw new IllegalArgumentException("configuration: truncated at byte " + b.position() + " of " + bytes.length);
        } catch (IllegalArgumentException e) {
            throw e.getMessage() != null && e.getMessage().startsWith("configuration:") ? e
                    : new IllegalArgumentException("configuration: " + e.getMessage(), e);
        }
    }

    private static TreeMap<Integer, String> members(ByteBuffer b, String what) {
        int count = b.getInt();
        if (count < 0 || (long) count * 8 > b.remaining())
            throw new IllegalArgumentException(what + " count " + count + " with " + b.remaining() + " bytes left");
        TreeMap<Integer, String> out = new TreeMap<>();
        Integer last = null;
        for (int i = 0; i < count; i++) {
            int id = b.getInt();
            if (last != null && id <= last)
                throw new IllegalArgumentException(what + " ids must ascend: " + id + " after " + last);
            last = id;
            int len = b.getInt();
            if (len < 0 || len > b.remaining())
                throw new IllegalArgumentException("address length " + len + " of " + what + " " + id + " with "
                        + b.remaining() + " bytes left");
            byte[] a = new byte[len];
            b.get(a);
            try {
                out.put(id, StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(a)).toString());
            } catch (CharacterCodingException e) {
                throw new IllegalArgumentException("address of " + what + " " + id + " is not UTF-8");
            }
        }
        return out;
    }

    /** For an entry's toString: the configuration its data holds, or why it holds none. */
    static String describe(byte[] data) {
        try {
            return decode(data).toString();
        } catch (IllegalArgumentException e) {
            return "<" + e.getMessage() + ">";
        }
    }

    @Override
    public String toString() {
        return "voters " + voters.keySet() + (learners.isEmpty() ? "" : " learners " + learners.keySet());
    }
}
