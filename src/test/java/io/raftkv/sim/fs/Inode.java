package io.raftkv.sim.fs;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/** A file or a folder, each with the version the program sees and the version on the disk. */
abstract sealed class Inode permits Inode.File, Inode.Folder {

    /** A change to a file's content since its last force, kept in order. */
    sealed interface Op {
        void applyTo(Bytes b);
    }

    record Write(long pos, byte[] data) implements Op {
        @Override
        public void applyTo(Bytes b) {
            b.write(pos, data, data.length);
        }
    }

    record Truncate(long size) implements Op {
        @Override
        public void applyTo(Bytes b) {
            b.truncate(size);
        }
    }

    static final class File extends Inode {
        /** What reads see: every write so far. */
        Bytes live = new Bytes();
        /** What the disk holds for sure: the content as of the last force. */
        Bytes durable = new Bytes();
        /** Writes and truncations made since the last force, oldest first. */
        final List<Op> unforced = new ArrayList<>();
        /** The channel holding this file's lock, if any (a lock dies with the process). */
        SimFileChannel lockedBy;

        void apply(Op op) {
            op.applyTo(live);
            unforced.add(op);
        }

        void force() {
            for (Op op : unforced) op.applyTo(durable);
            unforced.clear();
        }
    }

    static final class Folder extends Inode {
        /** The entries as the program sees them. */
        TreeMap<String, Inode> live = new TreeMap<>();
        /** The entries on the disk: as of the last force of this folder. */
        TreeMap<String, Inode> durable = new TreeMap<>();

        void force() {
            durable = new TreeMap<>(live);
        }
    }
}
