package io.raftkv.server;

import io.raftkv.storage.StorageException;
import io.raftkv.transport.HostPort;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Which cluster a node belongs to (etcd's cluster id): made when a cluster is bootstrapped, from
 * its first members and {@code --cluster-token}, so the nodes of a static start agree without
 * talking; kept in every data folder ({@code cluster-id}); carried in every peer request
 * ({@link #HEADER}). A node refuses peer messages of another cluster, and refuses to start on a
 * data folder of another cluster. A node that joins learns the id from the first message of the
 * cluster that added it.
 */
public final class ClusterIdentity {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterIdentity.class);
    public static final String HEADER = "X-Raftkv-Cluster";
    public static final String FILE = "cluster-id";
    public static final String DEFAULT_TOKEN = "raftkv";

    private final AtomicReference<String> id;
    /** Where the id is kept, or null (in memory only: tests). */
    private final Path file;

    private ClusterIdentity(String id, Path file) {
        this.id = new AtomicReference<>(id);
        this.file = file;
    }

    /** The id a cluster bootstrapped with {@code members} and {@code token} has. */
    public static String derive(Map<Integer, HostPort> members, String token) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            for (var e : new TreeMap<>(members).entrySet()) {
                d.update((e.getKey() + "=" + e.getValue() + ",").getBytes(StandardCharsets.UTF_8));
            }
            d.update(("|" + token).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Not known yet (a node that joins), learned from the first message, not kept anywhere (tests). */
    public static ClusterIdentity unknown() {
        return new ClusterIdentity(null, null);
    }

    /** The identity a node started without one gets: derived from its bootstrap members, or unknown when it joins. */
    static ClusterIdentity defaultFor(NodeConfig config) {
        return config.join() ? unknown() : of(derive(config.members(), DEFAULT_TOKEN));
    }

    /** A known id, not kept anywhere (tests). */
    public static ClusterIdentity of(String id) {
        return new ClusterIdentity(id, null);
    }

    /** The id kept in {@code dir}, if any. */
    public static Optional<String> read(Path dir) {
        Path f = dir.resolve(FILE);
        if (!Files.exists(f)) return Optional.empty();
        try {
            String s = Files.readString(f, StandardCharsets.UTF_8).trim();
            if (!s.matches("[0-9a-f]{16}")) throw new StorageException(f + " does not hold a cluster id (16 hex digits): '" + s + "'");
            return Optional.of(s);
        } catch (IOException e) {
            throw new StorageException("cannot read " + f + ": " + e.getMessage(), e);
        }
    }

    /** Kept in {@code dir}: {@code id} when known (written now if new), else learned later and written then. */
    public static ClusterIdentity inFolder(Path dir, Optional<String> id) {
        return inFolder(dir, id, true);
    }

    /** As above; with {@code writeNow} false the known id is written by {@link #keep()}. */
    public static ClusterIdentity inFolder(Path dir, Optional<String> id, boolean writeNow) {
        ClusterIdentity c = new ClusterIdentity(id.orElse(null), dir.resolve(FILE));
        if (writeNow) id.ifPresent(c::write);
        return c;
    }

    /** Writes the id, if known, to its folder (once the node is up). */
    public void keep() {
        String v = id.get();
        if (v != null) write(v);
    }

    /** The id, or empty while a joining node has not heard from its cluster yet. */
    public Optional<String> id() {
        return Optional.ofNullable(id.get());
    }

    /**
     * Checks a peer request's header. Empty: accepted (a node without an id takes the first one it
     * hears, from the cluster that added it). Otherwise why it is refused.
     */
    public Optional<String> check(String header) {
        String mine = id.get();
        if (header == null || header.isBlank()) {
            return Optional.of("the message carries no cluster id (" + HEADER + "); this node belongs to cluster "
                    + (mine == null ? "(not known yet)" : mine));
        }
        if (mine == null) {
            if (!header.matches("[0-9a-f]{16}")) return Optional.of("'" + header + "' is not a cluster id");
            if (id.compareAndSet(null, header)) {
                LOG.info("joined cluster {} (learned from its first message)", header);
                if (file != null) write(header);
            }
            mine = id.get();
        }
        if (!mine.equals(header)) {
            return Optional.of("the message is from cluster " + header + "; this node belongs to cluster " + mine);
        }
        return Optional.empty();
    }

    private void write(String value) {
        if (file == null) return;
        try {
            if (Files.exists(file) && Files.readString(file, StandardCharsets.UTF_8).trim().equals(value)) return;
            Path tmp = file.resolveSibling(FILE + ".tmp");
            Files.writeString(tmp, value + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new StorageException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
