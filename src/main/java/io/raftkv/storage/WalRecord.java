package io.raftkv.storage;

import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Framing of one write-ahead-log record.
 *
 * <pre>
 *  0        4        8      9
 *  +--------+--------+------+----------------------------+
 *  | length | crc32c | type | payload (length - 1 bytes) |
 *  +--------+--------+------+----------------------------+
 *  length: int32 BE, bytes of type + payload
 *  crc32c: of type + payload
 *  type 1 ENTRY: index int64, term int64, data (rest)          a NORMAL entry (command or no-op)
 *  type 2 STATE: term int64, votedFor int32, commit int64
 *  type 3 CONFIG_ENTRY: index int64, term int64, data (rest)   a CONFIG entry: an encoded Configuration
 * </pre>
 * Type 3 came with membership changes; logs written before it hold types 1 and 2 only and read
 * unchanged (an older raftkv refuses a log with a type 3 record: "unknown type 3").
 */
final class WalRecord {
    static final int HEADER_BYTES = 8;
    static final byte ENTRY = 1;
    static final byte STATE = 2;
    static final byte CONFIG_ENTRY = 3;
    static final int STATE_PAYLOAD = 8 + 4 + 8;
    /** Largest record accepted on read; bigger lengths are garbage, not data. */
    static final int MAX_RECORD_BYTES = 256 * 1024 * 1024;

    private WalRecord() {}

    static int entrySize(Entry e) {
        return HEADER_BYTES + 1 + 16 + e.data().length;
    }

    static int stateSize() {
        return HEADER_BYTES + 1 + STATE_PAYLOAD;
    }

    static void putEntry(ByteBuffer buf, Entry e) {
        int start = buf.position();
        buf.position(start + HEADER_BYTES);
        buf.put(e.isConfig() ? CONFIG_ENTRY : ENTRY).putLong(e.index()).putLong(e.term()).put(e.data());
        seal(buf, start);
    }

    static void putState(ByteBuffer buf, HardState hs) {
        int start = buf.position();
        buf.position(start + HEADER_BYTES);
        buf.put(STATE).putLong(hs.term()).putInt(hs.votedFor()).putLong(hs.commit());
        seal(buf, start);
    }

    private static void seal(ByteBuffer buf, int start) {
        int end = buf.position();
        int length = end - start - HEADER_BYTES;
        CRC32C crc = new CRC32C();
        crc.update(buf.array(), buf.arrayOffset() + start + HEADER_BYTES, length);
        buf.putInt(start, length);
        buf.putInt(start + 4, (int) crc.getValue());
    }

    /** Whether {@code type} is a record of an entry (of either kind). */
    static boolean isEntry(byte type) {
        return type == ENTRY || type == CONFIG_ENTRY;
    }

    static boolean crcMatches(ByteBuffer body, int expected) {
        CRC32C crc = new CRC32C();
        crc.update(body.duplicate());
        return (int) crc.getValue() == expected;
    }
}
