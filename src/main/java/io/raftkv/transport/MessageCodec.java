package io.raftkv.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.raftkv.raft.Message;
import io.raftkv.raft.Message.AppendEntries;
import io.raftkv.raft.Message.AppendEntriesResponse;
import io.raftkv.raft.Message.InstallSnapshot;
import io.raftkv.raft.Message.InstallSnapshotResponse;
import io.raftkv.raft.Message.RequestVote;
import io.raftkv.raft.Message.RequestVoteResponse;
import io.raftkv.raft.Message.TimeoutNow;

/**
 * Binary encoding of Raft messages: fixed-width big-endian fields, no field names, no varints,
 * so that the size is known before encoding (one exact allocation) and decoding is a sequence of
 * bounds-checked reads. Integers are signed two's complement (Netty's {@code writeInt}/{@code
 * writeLong}); ids are int32, terms, indexes and offsets int64, booleans bits of a flags byte.
 *
 * <pre>
 * Header, 18 bytes, every message:
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | magic/version |     type      |        from (int32) ...       |
 *  +---------------+---------------+-------------------------------+
 *  |        ... from               |        to (int32) ...         |
 *  +-------------------------------+-------------------------------+
 *  |        ... to                 |        term (int64) ...       |
 *  +-------------------------------+                               +
 *  |                                                               |
 *  +                               +-------------------------------+
 *  |        ... term               |  body, by type ...
 *  +-------------------------------+
 *
 *  magic/version  0xA2: magic 0xA in the high nibble, format version 2 in the low one (version 1 had
 *                 no entry type, no snapshot configuration, no TimeoutNow and no transfer flag)
 *
 * Bodies (type: fields in order; size in bytes, to add to the header's 18):
 *
 *  1 RequestVote             lastLogIndex i64, lastLogTerm i64,
 *                            flags u8 {0x01 preVote, 0x02 transfer}                                   17
 *  2 RequestVoteResponse     flags u8 {0x01 granted, 0x02 preVote}                                    1
 *  3 AppendEntries           prevLogIndex i64, prevLogTerm i64, leaderCommit i64, readContext i64,
 *                            count i32, and unless count is 0:                                        36
 *                              firstIndex i64,                                                        + 8
 *                              count times: term i64, type u8 {0 normal, 1 config},
 *                                           length i32, data (length bytes)                        + 13 + length each
 *  4 AppendEntriesResponse   flags u8 {0x01 success}, matchIndex i64, rejectedIndex i64,
 *                            conflictTerm i64, conflictIndex i64, readContext i64                     41
 *  5 InstallSnapshot         snapshotIndex i64, snapshotTerm i64, offset i64, flags u8 {0x01 done},
 *                            configLength i32, configuration (configLength bytes),
 *                            length i32, data (length bytes)                         33 + configLength + length
 *  6 InstallSnapshotResponse snapshotIndex i64, nextOffset i64, flags u8 {0x01 done}                  17
 *  7 TimeoutNow              (no body: the header says who tells whom, in which term)                 0
 * </pre>
 *
 * <p>The entries of one AppendEntries have consecutive indexes (they are a slice of the leader's
 * log), so only the first index travels: entry {@code i} has index {@code firstIndex + i}. The data
 * of a config entry, and an InstallSnapshot's configuration, are a
 * {@link io.raftkv.raft.Configuration} in its own encoding, which the decoder checks.
 *
 * <p>No checksum: TCP guards the bytes in transit, and the log on disk has its own. Any change of
 * layout takes a new version number; a node refuses every other version, so all nodes of a
 * cluster run the same one (there is no negotiation and no rolling upgrade across versions).
 *
 * <p>Decoding is total and strict: any byte sequence gives a message or an
 * {@link IllegalArgumentException} naming what is wrong (bad magic or version, unknown type,
 * truncated field, negative or oversized length, unknown flag bits, an invalid entry, trailing
 * bytes, an unknown entry type, a configuration that does not decode). Strictness makes the encoding
 * canonical: a body that decodes re-encodes to itself.
 */
public final class MessageCodec {
    /** High nibble of the first byte: tells a raftkv binary message from anything else (JSON starts with '{'). */
    static final int MAGIC = 0xA0;
    static final int VERSION = 2;
    static final byte MAGIC_VERSION = (byte) (MAGIC | VERSION);

    static final byte REQUEST_VOTE = 1;
    static final byte REQUEST_VOTE_RESPONSE = 2;
    static final byte APPEND_ENTRIES = 3;
    static final byte APPEND_ENTRIES_RESPONSE = 4;
    static final byte INSTALL_SNAPSHOT = 5;
    static final byte INSTALL_SNAPSHOT_RESPONSE = 6;
    static final byte TIMEOUT_NOW = 7;

    /** magic/version, type, from, to, term. */
    static final int HEADER_BYTES = 1 + 1 + 4 + 4 + 8;

    /** The media type of peer requests and responses. */
    public static final String CONTENT_TYPE = "application/octet-stream";

    private MessageCodec() {}

    /** HTTP path a request message is posted to; responses travel in the HTTP response. */
    public static String path(Message m) {
        return switch (m) {
            case RequestVote rv -> "/requestVote";
            case AppendEntries ae -> "/appendEntries";
            case RequestVoteResponse r -> "/requestVote";
            case AppendEntriesResponse r -> "/appendEntries";
            case InstallSnapshot is -> "/installSnapshot";
            case InstallSnapshotResponse r -> "/installSnapshot";
            case TimeoutNow tn -> "/timeoutNow";
        };
    }

    public static boolean isResponse(Message m) {
        return m.isResponse();
    }

    /**
     * The exact number of bytes {@code m} encodes to.
     *
     * @throws IllegalArgumentException if {@code m} cannot be encoded (entries with gaps in their
     *                                  indexes, or more than 2 GiB in all)
     */
    public static int encodedSize(Message m) {
        return MessageEncoder.size(m);
    }

    /**
     * Encodes {@code m} into a buffer of exactly its size from {@code alloc}; the caller owns the
     * buffer (writing it to a channel hands it to Netty, which releases it).
     */
    public static ByteBuf encode(Message m, ByteBufAllocator alloc) {
        int size = encodedSize(m);
        ByteBuf buf = alloc.buffer(size, size);
        try {
            MessageEncoder.write(m, buf, size);
        } catch (RuntimeException | Error e) {
            buf.release();
            throw e;
        }
        return buf;
    }

    /** Appends the encoding of {@code m} at the writer index of {@code out}. */
    public static void encodeTo(Message m, ByteBuf out) {
        int size = encodedSize(m);
        out.ensureWritable(size);
        MessageEncoder.write(m, out, size);
    }

    /** The encoding of {@code m} as an array, for tests and tools; the transport encodes into pooled buffers. */
    public static byte[] encode(Message m) {
        int size = encodedSize(m);
        byte[] bytes = new byte[size];
        MessageEncoder.write(m, Unpooled.wrappedBuffer(bytes).writerIndex(0), size);
        return bytes;
    }

    /**
     * Decodes the readable bytes of {@code buf}, which must hold exactly one message, advancing
     * its reader index. Entry and snapshot data are copied out, so {@code buf} may be released
     * afterwards; its reference count is left alone.
     *
     * @throws IllegalArgumentException saying what is wrong, for any body that is not a message
     */
    public static Message decode(ByteBuf buf) {
        return MessageDecoder.decode(buf);
    }

    /** Decodes a whole array; see {@link #decode(ByteBuf)}. */
    public static Message decode(byte[] body) {
        return decode(Unpooled.wrappedBuffer(body));
    }
}
