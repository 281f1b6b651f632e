package io.raftkv.sim.fs;

import java.io.IOException;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.spi.FileSystemProvider;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The {@code java.nio.file} entry points of a {@link SimFileSystem}; every call goes to the path's disk. */
final class SimFileSystemProvider extends FileSystemProvider {

    private static SimFileSystem fs(Path p) {
        if (!(p instanceof SimPath s)) throw new java.nio.file.ProviderMismatchException(String.valueOf(p));
        return s.getFileSystem();
    }

    @Override
    public String getScheme() {
        return "simfs";
    }

    @Override
    public FileSystem newFileSystem(URI uri, Map<String, ?> env) {
        throw new UnsupportedOperationException("use SimFileSystem.create()");
    }

    @Override
    public FileSystem getFileSystem(URI uri) {
        throw new UnsupportedOperationException("simulated disks have no URI");
    }

    @Override
    public Path getPath(URI uri) {
        throw new UnsupportedOperationException("simulated disks have no URI");
    }

    @Override
    public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        return fs(path).open(path, options);
    }

    @Override
    public FileChannel newFileChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        return fs(path).open(path, options);
    }

    @Override
    public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter) throws IOException {
        List<Path> all = fs(dir).list(dir);
        List<Path> accepted = new java.util.ArrayList<>();
        for (Path p : all) if (filter.accept(p)) accepted.add(p);
        return new DirectoryStream<>() {
            @Override
            public Iterator<Path> iterator() {
                return accepted.iterator();
            }

            @Override
            public void close() {
                // a copy of the entries: nothing to release
            }
        };
    }

    @Override
    public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
        fs(dir).createDirectory(dir);
    }

    @Override
    public void delete(Path path) throws IOException {
        fs(path).delete(path);
    }

    @Override
    public void copy(Path source, Path target, CopyOption... options) {
        throw new UnsupportedOperationException("copy on the simulated disk");
    }

    @Override
    public void move(Path source, Path target, CopyOption... options) throws IOException {
        fs(source).move(source, target, options);
    }

    @Override
    public boolean isSameFile(Path path, Path path2) throws IOException {
        return path.equals(path2) || fs(path).lookup(path) == fs(path2).lookup(path2);
    }

    @Override
    public boolean isHidden(Path path) {
        return false;
    }

    @Override
    public FileStore getFileStore(Path path) {
        throw new UnsupportedOperationException("no file stores on the simulated disk");
    }

    @Override
    public void checkAccess(Path path, AccessMode... modes) throws IOException {
        fs(path).checkAccess(path, modes);
    }

    @Override
    public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
        return null;
    }

    @Override
    @SuppressWarnings("unchecked")
    public <A extends BasicFileAttributes> A readAttributes(Path path, Class<A> type, LinkOption... options)
            throws IOException {
        if (type != BasicFileAttributes.class) throw new UnsupportedOperationException("attributes " + type);
        Inode node = fs(path).lookup(path);
        return (A) new Attributes(node instanceof Inode.Folder, node instanceof Inode.File f ? f.live.size() : 0,
                System.identityHashCode(node));
    }

    @Override
    public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options) {
        throw new UnsupportedOperationException("attributes by name on the simulated disk");
    }

    @Override
    public void setAttribute(Path path, String attribute, Object value, LinkOption... options) {
        throw new UnsupportedOperationException("attributes on the simulated disk");
    }

    private record Attributes(boolean isDirectory, long size, Object fileKey) implements BasicFileAttributes {
        private static final FileTime EPOCH = FileTime.fromMillis(0);

        @Override
        public FileTime lastModifiedTime() {
            return EPOCH;
        }

        @Override
        public FileTime lastAccessTime() {
            return EPOCH;
        }

        @Override
        public FileTime creationTime() {
            return EPOCH;
        }

        @Override
        public boolean isRegularFile() {
            return !isDirectory;
        }

        @Override
        public boolean isSymbolicLink() {
            return false;
        }

        @Override
        public boolean isOther() {
            return false;
        }
    }
}
