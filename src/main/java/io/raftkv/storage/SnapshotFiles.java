package io.raftkv.storage;

import io.raftkv.raft.Configuration;
import io.raftkv.raft.Snapshot;
import io.raftkv.raft.SnapshotData;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * Snapshot files, written atomically: a temporary file, fsync, rename, fsync of the folder.
 *
 * <pre>
 * snap/snapshot_&lt;index 20 digits&gt;_&lt;term 20 digits&gt;
 *   +------------+-------+-------+--------------+---------------+------------+------+--------+
 *   | "RKVSNAP2" | index | term  | configLength | configuration | dataLength | data | crc32c |
 *   | 8 bytes    | int64 | int64 | int32        |               | int64      |      | int32 of all before it
 *   +------------+-------+-------+--------------+---------------+------------+------+--------+
 * </pre>
 * {@code configuration} is the membership in effect at {@code index} (thesis §4.1), in
 * {@link io.raftkv.raft.Configuration}'s encoding; a configLength of 0 (no configuration encodes
 * to nothing) stands for a snapshot that records none. Files of earlier versions start with
 * "RKVSNAP1" and have no configLength and configuration: they still load, as snapshots that record
 * no configuration (their cluster never changed its membership). Every snapshot is written as
 * RKVSNAP2, which an earlier version refuses as "not a raftkv snapshot".
 * Only the newest snapshot is kept; a leftover temporary file (crash while writing) is deleted.
 */
final class SnapshotFiles {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotFiles.class);
    private static final byte[] MAGIC_V1 = "RKVSNAP1".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final byte[] MAGIC = "RKVSNAP2".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final Pattern NAME = Pattern.compile("snapshot_(\\d{20})_(\\d{20})");
    /** Version 1's header: magic, index, term, dataLength. */
    private static final int HEADER_V1 = 8 + 8 + 8 + 8;

    private final Path dir;
    private final boolean fsync;

    SnapshotFiles(Path dir, boolean fsync) {
        this.dir = dir;
        this.fsync = fsync;
    }

    Optional<Snapshot> loadLatest() {
        try {
            DataDirLock.ensureWritableFolder(dir, "snapshot folder");
            List<Path> files;
            try (Stream<Path> s = Files.list(dir)) {
                files = s.sorted().toList();
            }
            Path latest = null;
            for (Path f : files) {
                String name = f.getFileName().toString();
                if (name.endsWith(".tmp")) {
                    LOG.info("deleting unfinished snapshot {}", f);
                    Files.delete(f);
                } else if (NAME.matcher(name).matches()) {
                    latest = f; // names sort by index
                } else {
                    throw new StorageException("unexpected file " + f + " in the snapshot folder; move it away");
                }
            }
            return latest == null ? Optional.empty() : Optional.of(read(latest));
        } catch (IOException e) {
            throw new StorageException("cannot read snapshots in " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Reads and checks a snapshot file; its data is then read from the file when needed. */
    private static Snapshot read(Path f) throws IOException {
        try (SeekableByteChannel ch = Files.newByteChannel(f, StandardOpenOption.READ)) {
            long fileSize = ch.size();
            byte[] start = readFully(ch, (int) Math.min(fileSize, 28));
            boolean v1 = start.length >= 8 && java.util.Arrays.equals(start, 0, 8, MAGIC_V1, 0, 8);
            boolean v2 = start.length >= 8 && java.util.Arrays.equals(start, 0, 8, MAGIC, 0, 8);
            if (fileSize < HEADER_V1 + 4 || !(v1 || v2)) {
                throw new StorageException("snapshot " + f + " is not a raftkv snapshot or is cut short; remove it to recover from the log and peers");
            }
            ByteBuffer b = ByteBuffer.wrap(start);
            long index = b.getLong(8);
            long term = b.getLong(16);
            int header = HEADER_V1;
            if (v2) {
                int configLength = b.getInt(24);
                if (configLength < 0 || 28L + configLength + 8 + 4 > fileSize) {
                    throw new StorageException("snapshot " + f + " announces a configuration of " + configLength
                            + " bytes in a file of " + fileSize + "; remove it to recover from the log and peers");
                }
                header = 28 + configLength + 8;
            }
            byte[] head = new byte[header];
            System.arraycopy(start, 0, head, 0, start.length);
            byte[] more = readFully(ch, header - start.length);
            System.arraycopy(more, 0, head, start.length, more.length);
            long len = ByteBuffer.wrap(head).getLong(header - 8);
            if (len != fileSize - header - 4L) {
                throw new StorageException("snapshot " + f + " announces " + len + " data bytes but holds " + (fileSize - header - 4)
                        + "; remove it to recover from the log and peers");
            }
            // Checked in one pass over the file; the data stays in the file (FileSnapshotData).
            CRC32C crc = new CRC32C();
            crc.update(head);
            ByteBuffer block = ByteBuffer.allocate(1 << 16);
            for (long left = len; left > 0; ) {
                block.clear().limit((int) Math.min(left, block.capacity()));
                while (block.hasRemaining()) {
                    if (ch.read(block) < 0) throw new IOException("cut short");
                }
                block.flip();
                crc.update(block);
                left -= block.limit();
            }
            if ((int) crc.getValue() != ByteBuffer.wrap(readFully(ch, 4)).getInt()) {
                throw new StorageException("snapshot " + f + " fails its checksum; remove it to recover from the log and peers");
            }
            Matcher m = NAME.matcher(f.getFileName().toString());
            if (!m.matches() || Long.parseLong(m.group(1)) != index || Long.parseLong(m.group(2)) != term) {
                throw new StorageException("snapshot " + f + " holds index " + index + " term " + term + ", not what its name says");
            }
            Optional<Configuration> configuration = Optional.empty();
            if (v2 && header > 28 + 8) {
                try {
                    configuration = Optional.of(Configuration.decode(java.util.Arrays.copyOfRange(head, 28, header - 8)));
                } catch (IllegalArgumentException e) {
                    throw new StorageException("snapshot " + f + " holds a configuration that does not decode (" + e.getMessage()
                            + "); remove it to recover from the log and peers");
                }
            }
            return new Snapshot(index, term, configuration, FileSnapshotData.open(f, header, len));
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        while (buf.hasRemaining()) ch.write(buf, position + buf.position());
    }

    private static byte[] readFully(SeekableByteChannel ch, int n) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(n);
        while (buf.hasRemaining()) {
            if (ch.read(buf) < 0) throw new IOException("cut short");
        }
        return buf.array();
    }

    /** Writes {@code snap} durably and deletes older snapshots. Returns the file's size. */
    synchronized long save(Snapshot snap) {
        return write(snap.index(), snap.term(), snap.configuration(), copyOf(snap), false).sizeBytes();
    }

    /**
     * Writes {@code snap} (a leader's) durably and deletes older snapshots; returns it as read from
     * its file (to be released by the caller), and the file's size.
     */
    synchronized RaftStorage.Written install(Snapshot snap) {
        return write(snap.index(), snap.term(), snap.configuration(), copyOf(snap), true);
    }

    private static RaftStorage.SnapshotWriter copyOf(Snapshot snap) {
        return out -> {
            try (java.io.InputStream in = snap.data().stream()) {
                in.transferTo(out);
            }
        };
    }

    /**
     * Streams a snapshot from {@code writer} into its file and deletes older snapshots; returns it
     * as read from the file, and the file's size. The encoded snapshot is never whole on the heap.
     */
    synchronized RaftStorage.Written save(long index, long term, Configuration configuration, RaftStorage.SnapshotWriter writer) {
        return write(index, term, Optional.of(configuration), writer, true);
    }

    /**
     * The file: data first (after room for the header), as {@code writer} produces it; then the
     * header, which holds the data's length; then the checksum over both (the data read back from
     * the page cache); fsync, rename, fsync of the folder. With {@code keep}, the snapshot returned
     * reads its data from the file, opened before older snapshots are deleted: a background
     * snapshot older than one installed meanwhile is deleted at once, and still readable.
     */
    private RaftStorage.Written write(long index, long term, Optional<Configuration> config, RaftStorage.SnapshotWriter writer,
                                      boolean keep) {
        Path target = dir.resolve(String.format("snapshot_%020d_%020d", index, term));
        Path tmp = dir.resolve(target.getFileName() + ".tmp");
        try {
            Files.createDirectories(dir);
            byte[] configuration = config.map(Configuration::encode).orElse(new byte[0]);
            int headerLength = 28 + configuration.length + 8;
            long dataLength;
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE, StandardOpenOption.READ)) {
                ch.position(headerLength);
                CountingOutput data = new CountingOutput(ch);
                java.io.BufferedOutputStream out = new java.io.BufferedOutputStream(data, 1 << 20);
                writer.writeTo(out);
                out.flush();
                dataLength = data.written;
                ByteBuffer header = ByteBuffer.allocate(headerLength);
                header.put(MAGIC).putLong(index).putLong(term).putInt(configuration.length).put(configuration)
                        .putLong(dataLength).flip();
                CRC32C crc = new CRC32C();
                crc.update(header.duplicate());
                ByteBuffer block = ByteBuffer.allocate(1 << 20);
                for (long at = 0; at < dataLength; ) {
                    block.clear().limit((int) Math.min(block.capacity(), dataLength - at));
                    while (block.hasRemaining()) {
                        if (ch.read(block, headerLength + at + block.position()) < 0) throw new IOException("cut short");
                    }
                    block.flip();
                    at += block.remaining();
                    crc.update(block);
                }
                writeFully(ch, header, 0);
                writeFully(ch, ByteBuffer.allocate(4).putInt((int) crc.getValue()).flip(), headerLength + dataLength);
                if (fsync) ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            syncDir();
            long size = Files.size(target);
            SnapshotData kept = keep ? FileSnapshotData.open(target, headerLength, dataLength) : null;
            // Keep only the newest: a snapshot taken in the background may finish after a newer one
            // was installed from the leader, and then it is the one to go.
            try (Stream<Path> s = Files.list(dir)) {
                List<Path> all = s.filter(p -> NAME.matcher(p.getFileName().toString()).matches()).sorted().toList();
                for (Path old : all.subList(0, all.size() - 1)) Files.delete(old);
            } catch (IOException e) {
                if (kept != null) kept.release();
                throw e;
            }
            return new RaftStorage.Written(kept == null ? null : new Snapshot(index, term, config, kept), size);
        } catch (IOException e) {
            // The snapshot becomes visible only by the rename: on a full disk nothing of it stays.
            boolean full = StorageException.isNoSpace(e);
            if (full) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a leftover .tmp is removed at the next start
                }
            }
            throw new StorageException("cannot write snapshot " + target + ": " + e.getMessage(), e, full);
        }
    }

    /** Appends to a channel at its position, counting the bytes. */
    private static final class CountingOutput extends java.io.OutputStream {
        private final FileChannel ch;
        private long written;

        CountingOutput(FileChannel ch) {
            this.ch = ch;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            ByteBuffer buf = ByteBuffer.wrap(b, off, len);
            while (buf.hasRemaining()) ch.write(buf);
            written += len;
        }
    }

    long sizeBytes() {
        try (Stream<Path> s = Files.list(dir)) {
            long total = 0;
            for (Path p : s.toList()) total += Files.size(p);
            return total;
        } catch (IOException e) {
            return 0;
        }
    }

    private void syncDir() throws IOException {
        if (!fsync) return;
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }
}
