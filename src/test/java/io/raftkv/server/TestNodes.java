package io.raftkv.server;

import io.raftkv.client.RaftKvClient;
import io.raftkv.storage.FileStorage;
import io.raftkv.storage.MemoryStorage;
import io.raftkv.storage.RaftStorage;
import io.raftkv.transport.HostPort;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * An in-process cluster of real nodes talking HTTP on loopback. Each node keeps its storage
 * across stop/restart: a {@link MemoryStorage} instance, or with {@link #onDisk} a
 * {@link FileStorage} in its own folder {@code <root>/node-<id>}, reopened on every start (a
 * stopped node's folder may be inspected or {@linkplain #wipe wiped}). For tests.
 */
public final class TestNodes implements AutoCloseable {
    private final Map<Integer, HostPort> addresses = new HashMap<>();
    /** In memory mode the one storage of each node; on disk the storage of each running node. */
    private final Map<Integer, RaftStorage> storages = new HashMap<>();
    private final Map<Integer, RaftServer> servers = new HashMap<>();
    /** Each running node's transport, whose links {@link #partition} cuts. */
    private final Map<Integer, CuttableTransport> transports = new HashMap<>();
    private final UnaryOperator<NodeConfig> tweak;
    /** Null for in-memory storage. */
    private final Path dataRoot;
    private final FileStorage.Options fileOptions;
    private final List<Throwable> fatalErrors = new CopyOnWriteArrayList<>();
    /** Each node's TLS (by id) for nodes started from now on; null: plain HTTP. */
    private java.util.function.IntFunction<io.raftkv.security.NodeTls> tls;
    /** The TLS of the clients {@link #client} makes; null: plain HTTP. */
    private javax.net.ssl.SSLContext clientTls;

    public TestNodes(int n) {
        this(n, UnaryOperator.identity());
    }

    /** {@code tweak} adjusts each node's config (e.g. a shorter request timeout). */
    public TestNodes(int n, UnaryOperator<NodeConfig> tweak) {
        this(n, tweak, null, null);
    }

    private TestNodes(int n, UnaryOperator<NodeConfig> tweak, Path dataRoot, FileStorage.Options fileOptions) {
        this.tweak = tweak;
        this.dataRoot = dataRoot;
        this.fileOptions = fileOptions;
        List<Integer> ports = freePorts(n);
        for (int i = 0; i < n; i++) {
            addresses.put(i, new HostPort("127.0.0.1", ports.get(i)));
            if (dataRoot == null) storages.put(i, new MemoryStorage());
        }
    }

    /** Nodes that keep their data in {@code root/node-<id>} with {@link FileStorage}. */
    public static TestNodes onDisk(int n, Path root, FileStorage.Options options, UnaryOperator<NodeConfig> tweak) {
        return new TestNodes(n, tweak, root, options);
    }

    /** Nodes started from now on speak TLS with {@code tls.apply(id)}; {@link #client}s with {@code clientTls}. */
    public TestNodes withTls(java.util.function.IntFunction<io.raftkv.security.NodeTls> tls, javax.net.ssl.SSLContext clientTls) {
        this.tls = tls;
        this.clientTls = clientTls;
        return this;
    }

    public TestNodes startAll() {
        for (int id : addresses.keySet()) start(id);
        return this;
    }

    public RaftServer start(int id) {
        Map<Integer, HostPort> peers = new HashMap<>(addresses);
        peers.remove(id);
        if (servers.containsKey(id)) throw new IllegalStateException("node " + id + " is already running");
        NodeConfig cfg = tweak.apply(NodeConfig.of(id, addresses.get(id), peers));
        RaftStorage storage = dataRoot == null ? storages.get(id) : FileStorage.open(dataDir(id), fileOptions);
        try {
            CuttableTransport[] transport = new CuttableTransport[1];
            RaftServer s = RaftServer.start(cfg, storage, fatalErrors::add,
                    inner -> transport[0] = new CuttableTransport(inner),
                    tls == null ? Optional.empty() : Optional.of(tls.apply(id)));
            servers.put(id, s);
            transports.put(id, transport[0]);
            storages.put(id, storage);
            return s;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            storage.close();
            throw new IllegalStateException(e);
        } catch (RuntimeException e) {
            storage.close(); // releases the folder's lock, so the node can be started again
            throw e;
        }
    }

    /** Stops the node; it closes its storage (on disk: releases the folder). */
    public void stop(int id) {
        RaftServer s = servers.remove(id);
        transports.remove(id);
        if (s != null) s.close();
        if (dataRoot != null) storages.remove(id);
    }

    /** The data folder of node {@code id} (on-disk clusters only). */
    public Path dataDir(int id) {
        if (dataRoot == null) throw new IllegalStateException("this cluster keeps its data in memory");
        return dataRoot.resolve("node-" + id);
    }

    /** Deletes a stopped node's data folder: it restarts as an empty node with the same id and address. */
    public void wipe(int id) {
        if (servers.containsKey(id)) throw new IllegalStateException("stop node " + id + " before wiping its data");
        Path dir = dataDir(id);
        if (!Files.exists(dir)) return;
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot wipe " + dir, e);
        }
    }

    public RaftServer node(int id) {
        return servers.get(id);
    }

    /** Vote and pre-vote requests running node {@code id} has sent (it campaigned). */
    public long voteRequestsSent(int id) {
        return transports.get(id).voteRequestsSent();
    }

    public HostPort address(int id) {
        return addresses.get(id);
    }

    public Set<Integer> running() {
        return Set.copyOf(servers.keySet());
    }

    /** The node's storage: in memory always, on disk while the node runs. */
    public RaftStorage storage(int id) {
        return storages.get(id);
    }

    /** A client over the given nodes (all nodes if none given). */
    public RaftKvClient client(Duration timeout, int... ids) {
        List<HostPort> list = new ArrayList<>();
        if (ids.length == 0) addresses.keySet().stream().sorted().forEach(i -> list.add(addresses.get(i)));
        for (int id : ids) list.add(addresses.get(id));
        return new RaftKvClient(list, timeout, true, timeout, null, clientTls);
    }

    /** Splits the running nodes into groups that cannot reach each other. */
    public void partition(Set<Integer> side) {
        for (var e : transports.entrySet()) {
            boolean inSide = side.contains(e.getKey());
            e.getValue().setReachable(peer -> side.contains(peer) == inSide);
        }
    }

    public void heal() {
        transports.values().forEach(t -> t.setReachable(peer -> true));
    }

    /** The running node that is leader of the highest term among those in {@code among}, if any. */
    public Optional<Integer> leader(Set<Integer> among) {
        StatusSnapshot best = null;
        for (int id : among) {
            RaftServer s = servers.get(id);
            if (s == null) continue;
            StatusSnapshot st = s.status();
            if (st.role().equals("leader") && (best == null || st.term() > best.term())) best = st;
        }
        return Optional.ofNullable(best).map(StatusSnapshot::id);
    }

    public int awaitLeader(Set<Integer> among, Duration timeout) {
        awaitCondition(() -> leader(among).isPresent(), timeout, "a leader among " + among);
        return leader(among).orElseThrow();
    }

    public List<Throwable> fatalErrors() {
        return fatalErrors;
    }

    /** Polls {@code condition} every 10 ms until it holds or {@code timeout} passes. */
    public static void awaitCondition(BooleanSupplier condition, Duration timeout, String what) {
        awaitCondition(condition, timeout, () -> what);
    }

    /** As above; {@code what} is evaluated on timeout, so it may describe the state at that moment. */
    public static void awaitCondition(BooleanSupplier condition, Duration timeout, Supplier<String> what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out after " + timeout + " waiting for " + what.get());
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what.get());
            }
        }
    }

    static List<Integer> freePorts(int n) {
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) sockets.add(new ServerSocket(0));
            return sockets.stream().map(ServerSocket::getLocalPort).toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } finally {
            for (ServerSocket s : sockets) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing a probe socket
                }
            }
        }
    }

    /** Stops every running node (each can be started again on the same storage). */
    public void stopAll() {
        for (int id : List.copyOf(servers.keySet())) stop(id);
    }

    @Override
    public void close() {
        stopAll();
    }
}
