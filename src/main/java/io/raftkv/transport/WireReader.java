package io.raftkv.transport;

import io.netty.buffer.ByteBuf;

/**
 * Bounds-checked big-endian reads from the readable bytes of a {@link ByteBuf}. Every read checks
 * the remaining bytes first and names the field when they are missing, so that a malformed body
 * ends in an {@link IllegalArgumentException} saying what is wrong, never in Netty's
 * IndexOutOfBoundsException; a length is checked against the remaining bytes before anything of
 * that size is allocated, so a forged length cannot make the reader allocate more than the body.
 */
final class WireReader {
    private final ByteBuf buf;
    /** What is being read, for error messages: "header", then the message type's name. */
    private String part = "header";
    /** The entry being read, or -1: kept apart from {@link #part} so that reading an entry builds no string. */
    private int entry = -1;

    WireReader(ByteBuf buf) {
        this.buf = buf;
    }

    /** Names the part read from now on (the message type once it is known). */
    void enter(String part) {
        this.part = part;
    }

    /** Names entry {@code i} as the one read from now on. */
    void enterEntry(int i) {
        this.entry = i;
    }

    int remaining() {
        return buf.readableBytes();
    }

    byte readByte(String field) {
        need(field, 1);
        return buf.readByte();
    }

    int readInt(String field) {
        need(field, Integer.BYTES);
        return buf.readInt();
    }

    long readLong(String field) {
        need(field, Long.BYTES);
        return buf.readLong();
    }

    /** A flags byte; a bit outside {@code known} is an error, so every accepted body has one encoding. */
    int readFlags(String field, int known) {
        int flags = readByte(field) & 0xff;
        if ((flags & ~known) != 0) {
            throw error(String.format("unknown bits 0x%02x in %s", flags & ~known, where(field)));
        }
        return flags;
    }

    /** A non-negative int32 length that fits in the remaining bytes. */
    int readLength(String field) {
        int n = readInt(field);
        if (n < 0) throw error("negative length " + n + " in " + where(field));
        if (n > remaining()) {
            throw error("length " + n + " in " + where(field) + " is beyond the remaining " + remaining() + " bytes");
        }
        return n;
    }

    /** A length-prefixed byte string, copied into its own array. */
    byte[] readBytes(String field) {
        byte[] data = new byte[readLength(field)];
        buf.readBytes(data);
        return data;
    }

    void expectEnd() {
        if (remaining() > 0) throw error(remaining() + " trailing bytes after a complete " + part);
    }

    IllegalArgumentException error(String what) {
        return new IllegalArgumentException("raft message: " + what);
    }

    /** "field 'term' of entry 3 of AppendEntries". */
    String where(String field) {
        return "field '" + field + "' of " + (entry >= 0 ? "entry " + entry + " of " : "") + part;
    }

    private void need(String field, int bytes) {
        if (remaining() < bytes) {
            throw error("truncated at " + where(field) + " (needs " + bytes + " byte"
                    + (bytes == 1 ? "" : "s") + ", " + remaining() + " left)");
        }
    }
}
