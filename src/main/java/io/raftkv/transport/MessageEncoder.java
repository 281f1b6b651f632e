package io.raftkv.transport;

import io.netty.buffer.ByteBuf;
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

import static io.raftkv.transport.MessageCodec.HEADER_BYTES;

/** Writes the layout drawn in {@link MessageCodec}; {@link #size} and {@link #write} must agree byte for byte. */
final class MessageEncoder {
    /** Per entry: term, type, data length. */
    private static final int ENTRY_OVERHEAD = 8 + 1 + 4;
    static final byte ENTRY_NORMAL = 0;
    static final byte ENTRY_CONFIG = 1;

    private MessageEncoder() {}

    static int size(Message m) {
        long body = switch (m) {
            case RequestVote rv -> 8 + 8 + 1;
            case RequestVoteResponse r -> 1;
            case AppendEntries ae -> 8 + 8 + 8 + 8 + entriesSize(ae.entries());
            case AppendEntriesResponse r -> 1 + 8 + 8 + 8 + 8 + 8;
            case InstallSnapshot is -> 8 + 8 + 8 + 1 + 4 + (long) is.configuration().encode().length + 4
                    + (long) is.data().length;
            case InstallSnapshotResponse r -> 8 + 8 + 1;
            case TimeoutNow tn -> 0;
        };
        long total = HEADER_BYTES + body;
        if (total > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("message too large to encode: " + total + " bytes");
        }
        return (int) total;
    }

    /**
     * Writes {@code m}, which {@link #size} measured as {@code size} bytes, at the writer index of {@code out}.
     * The check afterwards catches a size computation that disagrees with the writes.
     */
    static void write(Message m, ByteBuf out, int size) {
        int start = out.writerIndex();
        out.writeByte(MessageCodec.MAGIC_VERSION);
        out.writeByte(type(m));
        out.writeInt(m.from());
        out.writeInt(m.to());
        out.writeLong(m.term());
        switch (m) {
            case RequestVote rv -> {
                out.writeLong(rv.lastLogIndex());
                out.writeLong(rv.lastLogTerm());
                out.writeByte(flag(rv.preVote(), 0x01) | flag(rv.transfer(), 0x02));
            }
            case RequestVoteResponse r -> out.writeByte(flag(r.granted(), 0x01) | flag(r.preVote(), 0x02));
            case AppendEntries ae -> {
                out.writeLong(ae.prevLogIndex());
                out.writeLong(ae.prevLogTerm());
                out.writeLong(ae.leaderCommit());
                out.writeLong(ae.readContext());
                writeEntries(ae.entries(), out);
            }
            case AppendEntriesResponse r -> {
                out.writeByte(flag(r.success(), 0x01));
                out.writeLong(r.matchIndex());
                out.writeLong(r.rejectedIndex());
                out.writeLong(r.conflictTerm());
                out.writeLong(r.conflictIndex());
                out.writeLong(r.readContext());
            }
            case InstallSnapshot is -> {
                out.writeLong(is.snapshotIndex());
                out.writeLong(is.snapshotTerm());
                out.writeLong(is.offset());
                out.writeByte(flag(is.done(), 0x01));
                byte[] configuration = is.configuration().encode();
                out.writeInt(configuration.length);
                out.writeBytes(configuration);
                out.writeInt(is.data().length);
                out.writeBytes(is.data());
            }
            case InstallSnapshotResponse r -> {
                out.writeLong(r.snapshotIndex());
                out.writeLong(r.nextOffset());
                out.writeByte(flag(r.done(), 0x01));
            }
            case TimeoutNow tn -> { }
        }
        int written = out.writerIndex() - start;
        if (written != size) throw new IllegalStateException("encoded " + m + " in " + written + " bytes, sized " + size);
    }

    static byte type(Message m) {
        return switch (m) {
            case RequestVote rv -> MessageCodec.REQUEST_VOTE;
            case RequestVoteResponse r -> MessageCodec.REQUEST_VOTE_RESPONSE;
            case AppendEntries ae -> MessageCodec.APPEND_ENTRIES;
            case AppendEntriesResponse r -> MessageCodec.APPEND_ENTRIES_RESPONSE;
            case InstallSnapshot is -> MessageCodec.INSTALL_SNAPSHOT;
            case InstallSnapshotResponse r -> MessageCodec.INSTALL_SNAPSHOT_RESPONSE;
            case TimeoutNow tn -> MessageCodec.TIMEOUT_NOW;
        };
    }

    /** Count, then if there are entries the first index and each entry's term and data; checks the indexes follow on. */
    private static long entriesSize(List<Entry> entries) {
        long size = 4;
        if (entries.isEmpty()) return size;
        size += 8;
        long first = entries.getFirst().index();
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            // Only the first index is sent; a gap would arrive as different entries.
            if (e.index() != first + i) {
                throw new IllegalArgumentException("AppendEntries entries must have consecutive indexes: entry " + i
                        + " has index " + e.index() + ", expected " + (first + i));
            }
            size += ENTRY_OVERHEAD + e.data().length;
        }
        return size;
    }

    private static void writeEntries(List<Entry> entries, ByteBuf out) {
        out.writeInt(entries.size());
        if (entries.isEmpty()) return;
        out.writeLong(entries.getFirst().index());
        for (Entry e : entries) {
            out.writeLong(e.term());
            out.writeByte(e.isConfig() ? ENTRY_CONFIG : ENTRY_NORMAL);
            out.writeInt(e.data().length);
            out.writeBytes(e.data());
        }
    }

    private static int flag(boolean set, int bit) {
        return set ? bit : 0;
    }
}
