package io.raftkv.sim.fs;

import java.net.URI;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A path of a {@link SimFileSystem}: names separated by '/', absolute when it starts with one. */
final class SimPath implements Path {
    private final SimFileSystem fs;
    private final boolean absolute;
    private final List<String> names;

    SimPath(SimFileSystem fs, boolean absolute, List<String> names) {
        this.fs = fs;
        this.absolute = absolute;
        this.names = List.copyOf(names);
    }

    static SimPath parse(SimFileSystem fs, String first, String... more) {
        String joined = more.length == 0 ? first : first + "/" + String.join("/", more);
        List<String> names = new ArrayList<>();
        for (String n : joined.split("/")) if (!n.isEmpty()) names.add(n);
        return new SimPath(fs, joined.startsWith("/"), names);
    }

    List<String> names() {
        return names;
    }

    private static SimPath check(Path p) {
        if (!(p instanceof SimPath s)) throw new ProviderMismatchException(String.valueOf(p));
        return s;
    }

    @Override
    public SimFileSystem getFileSystem() {
        return fs;
    }

    @Override
    public boolean isAbsolute() {
        return absolute;
    }

    @Override
    public Path getRoot() {
        return absolute ? new SimPath(fs, true, List.of()) : null;
    }

    @Override
    public Path getFileName() {
        return names.isEmpty() ? null : new SimPath(fs, false, List.of(names.getLast()));
    }

    @Override
    public Path getParent() {
        if (names.isEmpty() || !absolute && names.size() == 1) return null;
        return new SimPath(fs, absolute, names.subList(0, names.size() - 1));
    }

    @Override
    public int getNameCount() {
        return names.size();
    }

    @Override
    public Path getName(int index) {
        return new SimPath(fs, false, List.of(names.get(index)));
    }

    @Override
    public Path subpath(int beginIndex, int endIndex) {
        return new SimPath(fs, false, names.subList(beginIndex, endIndex));
    }

    @Override
    public boolean startsWith(Path other) {
        SimPath o = check(other);
        return o.absolute == absolute && o.names.size() <= names.size() && names.subList(0, o.names.size()).equals(o.names);
    }

    @Override
    public boolean endsWith(Path other) {
        SimPath o = check(other);
        if (o.absolute) return equals(o);
        return o.names.size() <= names.size() && names.subList(names.size() - o.names.size(), names.size()).equals(o.names);
    }

    @Override
    public Path normalize() {
        return this;
    }

    @Override
    public Path resolve(Path other) {
        SimPath o = check(other);
        if (o.absolute) return o;
        List<String> all = new ArrayList<>(names);
        all.addAll(o.names);
        return new SimPath(fs, absolute, all);
    }

    @Override
    public Path relativize(Path other) {
        SimPath o = check(other);
        if (o.absolute != absolute || !o.startsWith(this)) {
            throw new IllegalArgumentException("only a path below " + this + " can be relativized against it: " + o);
        }
        return new SimPath(fs, false, o.names.subList(names.size(), o.names.size()));
    }

    @Override
    public URI toUri() {
        throw new UnsupportedOperationException("simulated paths have no URI");
    }

    @Override
    public Path toAbsolutePath() {
        return absolute ? this : new SimPath(fs, true, names);
    }

    @Override
    public Path toRealPath(LinkOption... options) {
        return toAbsolutePath();
    }

    @Override
    public WatchKey register(WatchService watcher, WatchEvent.Kind<?>[] events, WatchEvent.Modifier... modifiers) {
        throw new UnsupportedOperationException("no watch service on the simulated disk");
    }

    @Override
    public int compareTo(Path other) {
        return toString().compareTo(other.toString());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SimPath p && p.fs == fs && p.absolute == absolute && p.names.equals(names);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(new Object[] {absolute, names});
    }

    @Override
    public String toString() {
        return (absolute ? "/" : "") + String.join("/", names);
    }
}
