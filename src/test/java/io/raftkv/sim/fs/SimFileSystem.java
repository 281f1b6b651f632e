package io.raftkv.sim.fs;

import java.io.IOException;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.WatchService;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

/**
 * One machine's disk, in memory, reached through the ordinary {@code java.nio.file} API
 * ({@code Files}, {@code FileChannel}) on the paths of {@link #getPath}.
 *
 * <h2>The durability model</h2>
 * <ul>
 *   <li><b>File data</b>: writes and truncations land in the page cache; {@code FileChannel.force}
 *       (either argument) makes everything written to the file so far durable.</li>
 *   <li><b>Folder entries</b>: creating, renaming and deleting a file or folder changes the folder
 *       at once for every reader, and durably only when a {@code FileChannel} opened on that
 *       folder is forced (the POSIX rule that fsync of a file does not persist its name, which
 *       FileStorage follows: it forces the folder after every create, rename and delete). This is
 *       stricter than ext4's ordered journal, which commits metadata in order; a program that
 *       survives it survives both.</li>
 *   <li><b>A crash</b> ({@link #crash}): every folder goes back to its forced entries; every file
 *       reachable from them goes back to its forced content plus a random prefix of the writes
 *       and truncations made since, in order, the first one left out cut at a random byte half
 *       the time (a torn write). Files are independent: one may keep more of its tail than
 *       another. Locks die with the process, and channels opened before the crash refuse use.</li>
 *   <li><b>A power cut inside an operation</b> ({@link #cutPowerAfter}): after a given number of
 *       further changes (a write, a truncation, a force, a create, a rename, a delete), the next
 *       one throws {@link PowerCut} without happening, so that a crash can fall at any point of a
 *       multi-step procedure (replace a file atomically, roll a segment, truncate a log).</li>
 * </ul>
 * Not modelled: reordering of writes within a file, damage to forced data, a full disk.
 */
public final class SimFileSystem extends FileSystem {
    private final SimFileSystemProvider provider = new SimFileSystemProvider();
    private final Inode.Folder root = new Inode.Folder();
    /** Bumped by each crash: channels of an earlier life refuse use. */
    private int life;
    /** Changes left before a power cut; -1 when none is armed. */
    private int changesBeforePowerCut = -1;
    /** A planted fault: force on a file returns without making anything durable (a lying disk). */
    private boolean forceIgnored;
    private final List<Inode.File> locked = new ArrayList<>();

    /** A fresh, empty disk. */
    public static SimFileSystem create() {
        return new SimFileSystem();
    }

    private SimFileSystem() {}

    /**
     * A planted fault for proving the checks: from now on {@code force} on a file returns without
     * persisting anything (a drive whose volatile write cache ignores flushes).
     */
    public void ignoreFileForces() {
        forceIgnored = true;
    }

    /** Lets {@code changes} more changes happen, then cuts the power at the next: it throws {@link PowerCut}. */
    public void cutPowerAfter(int changes) {
        if (changes < 0) throw new IllegalArgumentException("changes " + changes);
        changesBeforePowerCut = changes;
    }

    /** Disarms {@link #cutPowerAfter}; true if the cut fell. */
    public boolean cancelPowerCut() {
        boolean fell = changesBeforePowerCut == 0;
        changesBeforePowerCut = -1;
        return fell;
    }

    /**
     * Power loss: the disk keeps what was forced plus, per file, a random prefix of the unforced
     * writes (see the class comment); what the processes held (channels, locks) is gone.
     */
    public CrashReport crash(Random random) {
        life++;
        changesBeforePowerCut = -1;
        for (Inode.File f : locked) f.lockedBy = null;
        locked.clear();
        int[] counts = new int[3];
        restore(root, random, counts, Collections.newSetFromMap(new IdentityHashMap<>()));
        return new CrashReport(counts[0], counts[1], counts[2]);
    }

    private static void restore(Inode.Folder folder, Random random, int[] counts, Set<Inode> seen) {
        if (!seen.add(folder)) return;
        if (!folder.live.equals(folder.durable)) counts[2]++;
        folder.live = new TreeMap<>(folder.durable);
        for (Inode child : folder.live.values()) {
            switch (child) {
                case Inode.Folder f -> restore(f, random, counts, seen);
                case Inode.File f -> {
                    if (seen.add(f)) restoreFile(f, random, counts);
                }
            }
        }
    }

    private static void restoreFile(Inode.File f, Random random, int[] counts) {
        Bytes disk = f.durable.copy();
        int n = f.unforced.size();
        if (n > 0) {
            int kept = random.nextInt(n + 1);
            for (int i = 0; i < kept; i++) f.unforced.get(i).applyTo(disk);
            if (kept < n) {
                counts[0]++;
                if (f.unforced.get(kept) instanceof Inode.Write w && w.data().length > 1 && random.nextBoolean()) {
                    disk.write(w.pos(), w.data(), 1 + random.nextInt(w.data().length - 1));
                    counts[1]++;
                }
            }
        }
        f.unforced.clear();
        f.durable = disk;
        f.live = disk.copy();
    }

    // ---------------------------------------------------------------- for the provider and channels

    int life() {
        return life;
    }

    /** Called before every change: counts down an armed power cut. */
    void beforeChange() {
        if (changesBeforePowerCut == 0) throw new PowerCut();
        if (changesBeforePowerCut > 0) changesBeforePowerCut--;
    }

    void force(Inode node) {
        beforeChange();
        switch (node) {
            case Inode.File f -> {
                if (!forceIgnored) f.force();
            }
            case Inode.Folder d -> d.force();
        }
    }

    void locked(Inode.File f) {
        locked.add(f);
    }

    Inode lookup(Path p) throws NoSuchFileException {
        Inode cur = root;
        for (String name : path(p).names()) {
            cur = cur instanceof Inode.Folder f ? f.live.get(name) : null;
            if (cur == null) throw new NoSuchFileException(p.toString());
        }
        return cur;
    }

    private Inode.Folder parent(Path p) throws IOException {
        Path parent = path(p).toAbsolutePath().getParent();
        if (parent == null) throw new FileSystemException(p.toString(), null, "the root has no parent");
        if (!(lookup(parent) instanceof Inode.Folder f)) throw new NotDirectoryException(parent.toString());
        return f;
    }

    private String name(Path p) {
        return path(p).names().getLast();
    }

    private SimPath path(Path p) {
        if (!(p instanceof SimPath s) || s.getFileSystem() != this) throw new java.nio.file.ProviderMismatchException(String.valueOf(p));
        return (SimPath) s.toAbsolutePath();
    }

    SimFileChannel open(Path p, Set<? extends OpenOption> options) throws IOException {
        boolean append = options.contains(StandardOpenOption.APPEND);
        boolean write = append || options.contains(StandardOpenOption.WRITE);
        boolean read = options.contains(StandardOpenOption.READ) || !write;
        Inode node;
        try {
            node = lookup(p);
            if (write && options.contains(StandardOpenOption.CREATE_NEW)) throw new FileAlreadyExistsException(p.toString());
        } catch (NoSuchFileException e) {
            if (!write || !(options.contains(StandardOpenOption.CREATE) || options.contains(StandardOpenOption.CREATE_NEW))) throw e;
            Inode.Folder parent = parent(p);
            beforeChange();
            node = new Inode.File();
            parent.live.put(name(p), node);
        }
        if (node instanceof Inode.Folder && write) throw new FileSystemException(p.toString(), null, "Is a directory");
        if (node instanceof Inode.File f && write && options.contains(StandardOpenOption.TRUNCATE_EXISTING) && f.live.size() > 0) {
            beforeChange();
            f.apply(new Inode.Truncate(0));
        }
        return new SimFileChannel(this, p, node, read, write, append);
    }

    void createDirectory(Path p) throws IOException {
        Inode.Folder parent = parent(p);
        if (parent.live.containsKey(name(p))) throw new FileAlreadyExistsException(p.toString());
        beforeChange();
        parent.live.put(name(p), new Inode.Folder());
    }

    void delete(Path p) throws IOException {
        Inode.Folder parent = parent(p);
        Inode node = parent.live.get(name(p));
        if (node == null) throw new NoSuchFileException(p.toString());
        if (node instanceof Inode.Folder f && !f.live.isEmpty()) throw new DirectoryNotEmptyException(p.toString());
        beforeChange();
        parent.live.remove(name(p));
    }

    /** rename(2): replaces an existing target (as the JDK's ATOMIC_MOVE does on Unix). */
    void move(Path source, Path target, CopyOption... options) throws IOException {
        Inode.Folder from = parent(source);
        Inode node = from.live.get(name(source));
        if (node == null) throw new NoSuchFileException(source.toString());
        Inode.Folder to = parent(target);
        Inode existing = to.live.get(name(target));
        boolean replace = List.of(options).contains(StandardCopyOption.REPLACE_EXISTING)
                || List.of(options).contains(StandardCopyOption.ATOMIC_MOVE);
        if (existing != null && !replace) throw new FileAlreadyExistsException(target.toString());
        if (existing instanceof Inode.Folder f && !f.live.isEmpty()) throw new DirectoryNotEmptyException(target.toString());
        if (existing == node) return;
        beforeChange();
        from.live.remove(name(source));
        to.live.put(name(target), node);
    }

    List<Path> list(Path dir) throws IOException {
        if (!(lookup(dir) instanceof Inode.Folder f)) throw new NotDirectoryException(dir.toString());
        List<Path> out = new ArrayList<>();
        for (String name : f.live.keySet()) out.add(dir.resolve(name));
        return out;
    }

    void checkAccess(Path p, AccessMode... modes) throws IOException {
        lookup(p);
    }

    // ---------------------------------------------------------------- FileSystem

    @Override
    public SimFileSystemProvider provider() {
        return provider;
    }

    @Override
    public void close() {
        // nothing to release: the disk lives as long as the simulation holds it
    }

    @Override
    public boolean isOpen() {
        return true;
    }

    @Override
    public boolean isReadOnly() {
        return false;
    }

    @Override
    public String getSeparator() {
        return "/";
    }

    @Override
    public Iterable<Path> getRootDirectories() {
        return List.of(getPath("/"));
    }

    @Override
    public Iterable<FileStore> getFileStores() {
        return List.of();
    }

    @Override
    public Set<String> supportedFileAttributeViews() {
        return Set.of("basic");
    }

    @Override
    public Path getPath(String first, String... more) {
        return SimPath.parse(this, first, more);
    }

    @Override
    public PathMatcher getPathMatcher(String syntaxAndPattern) {
        throw new UnsupportedOperationException("no path matchers on the simulated disk");
    }

    @Override
    public UserPrincipalLookupService getUserPrincipalLookupService() {
        throw new UnsupportedOperationException("no users on the simulated disk");
    }

    @Override
    public WatchService newWatchService() {
        throw new UnsupportedOperationException("no watch service on the simulated disk");
    }
}
