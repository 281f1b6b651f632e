package io.raftkv.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raftkv.storage.StorageException;
import io.raftkv.transport.HostPort;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The file {@code bootstrap.json} in a node's data folder: which node the folder belongs to and
 * the voters the cluster was started with ({@code -peers}). Written once, at the first start of a
 * node of a new cluster; a restart reads it, so that it needs no {@code -peers} (thesis §4.1: the
 * bootstrap configuration is the one in use until the log holds one, and the log holds only the
 * changes). A node that joined a running cluster has no such file: its log or snapshot holds its
 * configuration.
 */
public final class BootstrapFile {
    public static final String NAME = "bootstrap.json";

    /** The node {@code id} of a cluster bootstrapped with {@code members} (this node included). */
    public record Contents(int id, Map<Integer, HostPort> members) {
        public Contents {
            members = Map.copyOf(members);
        }

        /** The members but this node: the bootstrap peers. */
        public Map<Integer, HostPort> peers() {
            Map<Integer, HostPort> p = new TreeMap<>(members);
            p.remove(id);
            return p;
        }
    }

    private BootstrapFile() {}

    public static Optional<Contents> read(Path dir) {
        Path f = dir.resolve(NAME);
        if (!Files.exists(f)) return Optional.empty();
        try {
            JsonNode o = HttpApi.JSON.readTree(Files.readAllBytes(f));
            int id = o.get("id").asInt();
            Map<Integer, HostPort> members = new TreeMap<>();
            o.get("members").properties().forEach(e -> members.put(Integer.parseInt(e.getKey()), HostPort.parse(e.getValue().asText())));
            if (!members.containsKey(id)) throw new IllegalArgumentException("node " + id + " is not among its members");
            return Optional.of(new Contents(id, members));
        } catch (IOException | RuntimeException e) {
            throw new StorageException(f + " is damaged (" + e.getMessage() + "); it names this node's id and the"
                    + " voters the cluster was started with: fix or restore it, or delete it and restart with -peers");
        }
    }

    /** Writes {@code contents} durably: a temporary file, forced, renamed into place, the folder forced. */
    public static void write(Path dir, Contents contents) {
        ObjectNode o = HttpApi.JSON.createObjectNode().put("id", contents.id());
        ObjectNode m = o.putObject("members");
        new TreeMap<>(contents.members()).forEach((id, a) -> m.put(String.valueOf(id), a.toString()));
        Path tmp = dir.resolve(NAME + ".tmp");
        try {
            byte[] bytes = HttpApi.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(o);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ch.write(ByteBuffer.wrap(bytes));
                ch.force(true);
            }
            Files.move(tmp, dir.resolve(NAME), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            }
        } catch (IOException e) {
            throw new StorageException("cannot write " + dir.resolve(NAME) + ": " + e.getMessage());
        }
    }
}
