package io.raftkv.sim.fs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.OverlappingFileLockException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Path;

/**
 * An open file (or folder, which may only be forced) of a {@link SimFileSystem}. Writes go to the
 * file's page cache; {@link #force} makes them durable; a channel opened before a crash throws.
 */
final class SimFileChannel extends FileChannel {
    private final SimFileSystem fs;
    private final Path path;
    private final Inode node;
    private final int life;
    private final boolean readable;
    private final boolean writable;
    private final boolean append;
    private long position;

    SimFileChannel(SimFileSystem fs, Path path, Inode node, boolean readable, boolean writable, boolean append) {
        this.fs = fs;
        this.path = path;
        this.node = node;
        this.life = fs.life();
        this.readable = readable;
        this.writable = writable;
        this.append = append;
    }

    private void checkOpen() throws ClosedChannelException {
        if (!isOpen()) throw new ClosedChannelException();
        if (life != fs.life()) {
            throw new IllegalStateException(path + " was opened before a simulated crash and is used after it");
        }
    }

    private Inode.File file() throws IOException {
        checkOpen();
        if (!(node instanceof Inode.File f)) throw new FileSystemException(path.toString(), null, "Is a directory");
        return f;
    }

    private Inode.File fileForWrite() throws IOException {
        Inode.File f = file();
        if (!writable) throw new NonWritableChannelException();
        return f;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        int n = read(dst, position);
        if (n > 0) position += n;
        return n;
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
        long total = 0;
        for (int i = offset; i < offset + length; i++) {
            int n = read(dsts[i]);
            if (n < 0) return total == 0 ? -1 : total;
            total += n;
            if (dsts[i].hasRemaining()) break;
        }
        return total;
    }

    @Override
    public int read(ByteBuffer dst, long pos) throws IOException {
        Inode.File f = file();
        if (!readable) throw new NonReadableChannelException();
        return f.live.read(pos, dst);
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        if (append) position = size();
        int n = write(src, position);
        position += n;
        return n;
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        // One gathering write is one change: a crash keeps a prefix of it, as of any write.
        int total = 0;
        for (int i = offset; i < offset + length; i++) total += srcs[i].remaining();
        ByteBuffer all = ByteBuffer.allocate(total);
        for (int i = offset; i < offset + length; i++) all.put(srcs[i]);
        return write(all.flip());
    }

    @Override
    public int write(ByteBuffer src, long pos) throws IOException {
        Inode.File f = fileForWrite();
        fs.beforeChange();
        byte[] bytes = new byte[src.remaining()];
        src.get(bytes);
        f.apply(new Inode.Write(pos, bytes));
        return bytes.length;
    }

    @Override
    public long position() throws IOException {
        checkOpen();
        return position;
    }

    @Override
    public FileChannel position(long newPosition) throws IOException {
        checkOpen();
        position = newPosition;
        return this;
    }

    @Override
    public long size() throws IOException {
        return file().live.size();
    }

    @Override
    public FileChannel truncate(long size) throws IOException {
        Inode.File f = fileForWrite();
        if (size < f.live.size()) {
            fs.beforeChange();
            f.apply(new Inode.Truncate(size));
        }
        position = Math.min(position, size);
        return this;
    }

    @Override
    public void force(boolean metaData) throws IOException {
        checkOpen();
        fs.force(node);
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target) {
        throw new UnsupportedOperationException("transferTo on the simulated disk");
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count) {
        throw new UnsupportedOperationException("transferFrom on the simulated disk");
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) {
        throw new UnsupportedOperationException("map on the simulated disk");
    }

    @Override
    public FileLock lock(long position, long size, boolean shared) throws IOException {
        FileLock l = tryLock(position, size, shared);
        if (l == null) throw new OverlappingFileLockException();
        return l;
    }

    /** A whole-file lock: null if another channel holds it (another process, as far as the caller can tell). */
    @Override
    public FileLock tryLock(long position, long size, boolean shared) throws IOException {
        Inode.File f = file();
        if (f.lockedBy == this) throw new OverlappingFileLockException();
        if (f.lockedBy != null) return null;
        f.lockedBy = this;
        fs.locked(f);
        return new Lock(this, position, size, shared);
    }

    private void unlock() {
        if (life == fs.life() && node instanceof Inode.File f && f.lockedBy == this) f.lockedBy = null;
    }

    @Override
    protected void implCloseChannel() {
        unlock();
    }

    private static final class Lock extends FileLock {
        private boolean released;

        Lock(SimFileChannel channel, long position, long size, boolean shared) {
            super(channel, position, size, shared);
        }

        private SimFileChannel owner() {
            return (SimFileChannel) acquiredBy();
        }

        @Override
        public boolean isValid() {
            return !released && owner().isOpen() && owner().life == owner().fs.life();
        }

        @Override
        public void release() {
            released = true;
            owner().unlock();
        }
    }
}
