package io.raftkv.transport;

import io.netty.buffer.ByteBuf;
import io.raftkv.raft.Configuration;
import io.raftkv.raft.Entry;
import io.raftkv.raft.Message;
import io.raftkv.raft.Message.AppendEntries;
import io.raftkv.raft.Message.AppendEntriesResponse;
import io.raftkv.raft.Message.InstallSnapshot;
import io.raftkv.raft.Message.InstallSnapshotResponse;
import io.raftkv.raft.Message.RequestVote;
import io.raftkv.raft.Message.RequestVoteResponse;
import io.raftkv.raft.Message.TimeoutNow;

import java.util.List;

/** Reads the layout drawn in {@link MessageCodec}, refusing anything else with an IllegalArgumentException. */
final class MessageDecoder {
    /** The least an entry takes: its term, type and data length. */
    private static final int MIN_ENTRY_BYTES = 8 + 1 + 4;

    private MessageDecoder() {}

    static Message decode(ByteBuf buf) {
        WireReader in = new WireReader(buf);
        if (in.remaining() == 0) throw in.error("empty body");
        checkMagic(in.readByte("magic/version") & 0xff, in);
        byte type = in.readByte("type");
        in.enter(typeName(type, in));
        int from = in.readInt("from");
        int to = in.readInt("to");
        long term = in.readLong("term");
        Message m = switch (type) {
            case MessageCodec.REQUEST_VOTE -> {
                long lastLogIndex = in.readLong("lastLogIndex");
                long lastLogTerm = in.readLong("lastLogTerm");
                int flags = in.readFlags("flags", 0x03);
                yield new RequestVote(from, to, term, lastLogIndex, lastLogTerm, (flags & 0x01) != 0,
                        (flags & 0x02) != 0);
            }
            case MessageCodec.REQUEST_VOTE_RESPONSE -> {
                int flags = in.readFlags("flags", 0x03);
                yield new RequestVoteResponse(from, to, term, (flags & 0x01) != 0, (flags & 0x02) != 0);
            }
            case MessageCodec.APPEND_ENTRIES -> {
                long prevLogIndex = in.readLong("prevLogIndex");
                long prevLogTerm = in.readLong("prevLogTerm");
                long leaderCommit = in.readLong("leaderCommit");
                long readContext = in.readLong("readContext");
                List<Entry> entries = entries(in);
                yield new AppendEntries(from, to, term, prevLogIndex, prevLogTerm, entries, leaderCommit, readContext);
            }
            case MessageCodec.APPEND_ENTRIES_RESPONSE -> {
                int flags = in.readFlags("flags", 0x01);
                long matchIndex = in.readLong("matchIndex");
                long rejectedIndex = in.readLong("rejectedIndex");
                long conflictTerm = in.readLong("conflictTerm");
                long conflictIndex = in.readLong("conflictIndex");
                long readContext = in.readLong("readContext");
                yield new AppendEntriesResponse(from, to, term, (flags & 0x01) != 0, matchIndex, rejectedIndex,
                        conflictTerm, conflictIndex, readContext);
            }
            case MessageCodec.INSTALL_SNAPSHOT -> {
                long snapshotIndex = in.readLong("snapshotIndex");
                long snapshotTerm = in.readLong("snapshotTerm");
                long offset = in.readLong("offset");
                int flags = in.readFlags("flags", 0x01);
                Configuration configuration = configuration(in.readBytes("configuration"), "configuration", in);
                byte[] data = in.readBytes("data");
                yield new InstallSnapshot(from, to, term, snapshotIndex, snapshotTerm, configuration, offset, data,
                        (flags & 0x01) != 0);
            }
            case MessageCodec.INSTALL_SNAPSHOT_RESPONSE -> {
                long snapshotIndex = in.readLong("snapshotIndex");
                long nextOffset = in.readLong("nextOffset");
                int flags = in.readFlags("flags", 0x01);
                yield new InstallSnapshotResponse(from, to, term, snapshotIndex, nextOffset, (flags & 0x01) != 0);
            }
            case MessageCodec.TIMEOUT_NOW -> new TimeoutNow(from, to, term);
            default -> throw new IllegalStateException("type " + type + " passed typeName");
        };
        in.expectEnd();
        return m;
    }

    /**
     * The first byte tells apart a body in another encoding (JSON from a raftkv before this one
     * starts with '{') from this encoding in another version: both mean a mixed-version cluster.
     */
    private static void checkMagic(int b, WireReader in) {
        if ((b & 0xf0) != MessageCodec.MAGIC) {
            throw in.error(String.format("bad magic byte 0x%02x%s, expected 0x%02x: not a binary raft message;"
                            + " peers must run the same raftkv version", b,
                    b == '{' ? " ('{': JSON, as sent by raftkv versions before the binary encoding)" : "",
                    MessageCodec.MAGIC_VERSION & 0xff));
        }
        if ((b & 0x0f) != MessageCodec.VERSION) {
            throw in.error("encoding version " + (b & 0x0f) + ", this node speaks version " + MessageCodec.VERSION
                    + "; peers must run the same raftkv version");
        }
    }

    private static String typeName(byte type, WireReader in) {
        return switch (type) {
            case MessageCodec.REQUEST_VOTE -> "RequestVote";
            case MessageCodec.REQUEST_VOTE_RESPONSE -> "RequestVoteResponse";
            case MessageCodec.APPEND_ENTRIES -> "AppendEntries";
            case MessageCodec.APPEND_ENTRIES_RESPONSE -> "AppendEntriesResponse";
            case MessageCodec.INSTALL_SNAPSHOT -> "InstallSnapshot";
            case MessageCodec.INSTALL_SNAPSHOT_RESPONSE -> "InstallSnapshotResponse";
            case MessageCodec.TIMEOUT_NOW -> "TimeoutNow";
            default -> throw in.error("unknown message type " + (type & 0xff) + " (known types are 1 to 7)");
        };
    }

    private static Configuration configuration(byte[] bytes, String field, WireReader in) {
        try {
            return Configuration.decode(bytes);
        } catch (IllegalArgumentException e) {
            throw in.error("bad " + in.where(field) + ": " + e.getMessage());
        }
    }

    private static List<Entry> entries(WireReader in) {
        int count = in.readInt("count");
        if (count < 0) throw in.error("negative entry count " + count + " in " + in.where("count"));
        if (count == 0) return List.of();
        long first = in.readLong("firstIndex");
        // Checked here, not left to Entry's constructor, to name the field.
        if (first < 1) throw in.error("firstIndex " + first + " must be >= 1");
        if (first - 1 > Long.MAX_VALUE - count) {
            throw in.error("indexes of " + count + " entries from firstIndex " + first + " overflow a long");
        }
        // The count is checked against what the body can hold before the list is sized by it.
        long least = (long) count * MIN_ENTRY_BYTES;
        if (least > in.remaining()) {
            throw in.error("entry count " + count + " needs at least " + least + " bytes, " + in.remaining() + " left");
        }
        Entry[] entries = new Entry[count];
        for (int i = 0; i < count; i++) {
            in.enterEntry(i);
            long term = in.readLong("term");
            if (term < 1) throw in.error("term " + term + " of entry " + i + " must be >= 1");
            byte type = in.readByte("type");
            if (type != MessageEncoder.ENTRY_NORMAL && type != MessageEncoder.ENTRY_CONFIG) {
                throw in.error("unknown entry type " + (type & 0xff) + " in " + in.where("type") + " (0 normal, 1 config)");
            }
            byte[] data = in.readBytes("data");
            if (type == MessageEncoder.ENTRY_CONFIG) {
                configuration(data, "data", in); // a follower must never find a config entry it cannot read
                entries[i] = new Entry(first + i, term, Entry.Type.CONFIG, data);
            } else {
                entries[i] = new Entry(first + i, term, data);
            }
        }
        in.enterEntry(-1);
        return List.of(entries);
    }
}
