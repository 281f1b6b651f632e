package io.raftkv.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * The current term and vote, in a file of their own replaced atomically (temp file, fsync,
 * rename, fsync of the folder) whenever they change.
 *
 * <pre>
 * term-vote:  "RKVTERM1" | term int64 | votedFor int32 | crc32c int32 (of all before it)
 * </pre>
 *
 * The WAL carries them too, but a log truncation or reset cuts state records away before the new
 * one is on disk; a crash in between must not bring back an older term or vote, or the node could
 * vote twice in one term (Raft §5.2). Elections are rare, so the extra fsyncs cost nothing.
 */
final class TermVoteFile {
    record TermVote(long term, int votedFor) {}

    private static final byte[] MAGIC = "RKVTERM1".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final int SIZE = 8 + 8 + 4 + 4;

    private final Path file;
    private final boolean fsync;

    TermVoteFile(Path dir, boolean fsync) {
        this.file = dir.resolve("term-vote");
        this.fsync = fsync;
    }

    Optional<TermVote> load() {
        try {
            Files.deleteIfExists(file.resolveSibling("term-vote.tmp"));
            if (!Files.exists(file)) return Optional.empty();
            byte[] b = Files.readAllBytes(file);
            ByteBuffer buf = ByteBuffer.wrap(b);
            CRC32C crc = new CRC32C();
            crc.update(b, 0, Math.max(0, b.length - 4));
            if (b.length != SIZE || !java.util.Arrays.equals(b, 0, 8, MAGIC, 0, 8) || (int) crc.getValue() != buf.getInt(SIZE - 4)) {
                throw new StorageException(file + " is damaged (it holds this node's term and vote); restore the data folder"
                        + " from a backup, or wipe it to rejoin as an empty node");
            }
            return Optional.of(new TermVote(buf.getLong(8), buf.getInt(16)));
        } catch (IOException e) {
            throw new StorageException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    void save(long term, int votedFor) {
        Path tmp = file.resolveSibling("term-vote.tmp");
        ByteBuffer buf = ByteBuffer.allocate(SIZE);
        buf.put(MAGIC).putLong(term).putInt(votedFor);
        CRC32C crc = new CRC32C();
        crc.update(buf.array(), 0, SIZE - 4);
        buf.putInt((int) crc.getValue()).flip();
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                while (buf.hasRemaining()) ch.write(buf);
                if (fsync) ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            if (fsync) {
                try (FileChannel d = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
                    d.force(true);
                }
            }
        } catch (IOException e) {
            // The file is replaced by a rename only once complete: on a full disk the old one stands.
            boolean full = StorageException.isNoSpace(e);
            if (full) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // left for the next start, which ignores it
                }
            }
            throw new StorageException("cannot write " + file + ": " + e.getMessage(), e, full);
        }
    }
}
