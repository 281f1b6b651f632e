package io.raftkv.server;

import io.raftkv.client.RaftKvClient;
import io.raftkv.storage.MemoryStorage;
import io.raftkv.transport.HostPort;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;

/**
 * An in-process cluster of real nodes talking HTTP on loopback, each with its own
 * {@link MemoryStorage} kept across stop/restart. For tests.
 */
public final class TestNodes implements AutoCloseable {
    private final Map<Integer, HostPort> addresses = new HashMap<>();
    private final Map<Integer, MemoryStorage> storages = new HashMap<>();
    private final Map<Integer, RaftServer> servers = new HashMap<>();
    private final UnaryOperator<NodeConfig> tweak;
    private final List<Throwable> fatalErrors = new CopyOnWriteArrayList<>();

    public TestNodes(int n) {
        this(n, UnaryOperator.identity());
    }

    /** {@code tweak} adjusts each node's config (e.g. a shorter request timeout). */
    public TestNodes(int n, UnaryOperator<NodeConfig> tweak) {
        this.tweak = tweak;
        List<Integer> ports = freePorts(n);
        for (int i = 0; i < n; i++) {
            addresses.put(i, new HostPort("127.0.0.1", ports.get(i)));
            storages.put(i, new MemoryStorage());
        }
    }

    public TestNodes startAll() {
        for (int id : addresses.keySet()) start(id);
        return this;
    }

    public RaftServer start(int id) {
        Map<Integer, HostPort> peers = new HashMap<>(addresses);
        peers.remove(id);
        NodeConfig cfg = tweak.apply(NodeConfig.of(id, addresses.get(id), peers));
        try {
            RaftServer s = RaftServer.start(cfg, storages.get(id), fatalErrors::add);
            servers.put(id, s);
            return s;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public void stop(int id) {
        RaftServer s = servers.remove(id);
        if (s != null) s.close();
    }

    public RaftServer node(int id) {
        return servers.get(id);
    }

    public HostPort address(int id) {
        return addresses.get(id);
    }

    public Set<Integer> running() {
        return Set.copyOf(servers.keySet());
    }

    public MemoryStorage storage(int id) {
        return storages.get(id);
    }

    /** A client over the given nodes (all nodes if none given). */
    public RaftKvClient client(Duration timeout, int... ids) {
        List<HostPort> list = new ArrayList<>();
        if (ids.length == 0) addresses.keySet().stream().sorted().forEach(i -> list.add(addresses.get(i)));
        for (int id : ids) list.add(addresses.get(id));
        return new RaftKvClient(list, timeout);
    }

    /** Splits the running nodes into groups that cannot reach each other. */
    public void partition(Set<Integer> side) {
        for (var e : servers.entrySet()) {
            boolean inSide = side.contains(e.getKey());
            e.getValue().setPeerReachable(peer -> side.contains(peer) == inSide);
        }
    }

    public void heal() {
        servers.values().forEach(s -> s.setPeerReachable(peer -> true));
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
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out after " + timeout + " waiting for " + what);
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what);
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

    @Override
    public void close() {
        for (int id : List.copyOf(servers.keySet())) stop(id);
    }
}
