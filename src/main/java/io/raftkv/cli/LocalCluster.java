package io.raftkv.cli;

import io.raftkv.client.KvResult;
import io.raftkv.chaos.NodeProcesses;
import io.raftkv.client.RaftKvClient;
import io.raftkv.transport.HostPort;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * N node processes on this machine, each logging to its own file. Children exit by themselves
 * when this process dies. Two layouts: one host with consecutive ports (the report's bare
 * {@code -peers} form, {@code raftkv local}), or one address per node sharing a port, each node
 * bound to its address ({@code --bind}, explicit peer ids; {@code raftkv chaos}).
 */
final class LocalCluster implements AutoCloseable, NodeProcesses {
    private final List<HostPort> addresses = new ArrayList<>();
    /** Node processes by id (null: not started, or stopped); nodes added later join at the end. */
    private final List<Process> processes = new ArrayList<>();
    /** Ids of nodes added to the running cluster ({@code add node}): they join instead of bootstrapping. */
    private final java.util.Set<Integer> joined = new HashSet<>();
    private final Path dir;
    private final List<String> extraNodeArgs;
    /** The nodes' certificates when they speak TLS ({@code --tls}); null: plain HTTP. */
    private volatile LocalTls tls;
    /** Whether each node listens on its own address only (and connects from it). */
    private final boolean bindEach;

    LocalCluster(int nodes, String host, int basePort, Path dir, List<String> extraNodeArgs) {
        this(IntStream.range(0, nodes).mapToObj(i -> new HostPort(host, basePort + i)).toList(), false, dir,
                extraNodeArgs);
    }

    private LocalCluster(List<HostPort> addresses, boolean bindEach, Path dir, List<String> extraNodeArgs) {
        this.dir = dir;
        this.extraNodeArgs = List.copyOf(extraNodeArgs);
        for (int i = 0; i < addresses.size(); i++) this.processes.add(null);
        this.addresses.addAll(addresses);
        this.bindEach = bindEach;
    }

    /** Node i on {@code addresses[i]}, bound to that address only (several may share one port). */
    static LocalCluster onAddresses(List<HostPort> addresses, Path dir, List<String> extraNodeArgs) {
        if (new HashSet<>(addresses).size() != addresses.size()) throw new IllegalArgumentException("duplicate node address");
        return new LocalCluster(addresses, true, dir, extraNodeArgs);
    }

    /** Nodes started from now on speak TLS with certificates from {@code tls}. */
    void useTls(LocalTls tls) {
        this.tls = tls;
        this.clientTls = tls.clientContext();
    }

    private volatile javax.net.ssl.SSLContext clientTls;

    @Override
    public javax.net.ssl.SSLContext clientTls() {
        return clientTls;
    }

    @Override
    public List<HostPort> addresses() {
        return addresses;
    }

    Path dir() {
        return dir;
    }

    /** Starts every node; throws {@link IllegalArgumentException} if a port is taken. */
    void startAll() {
        for (HostPort a : addresses) {
            try (ServerSocket s = new ServerSocket()) {
                s.bind(bindEach ? new InetSocketAddress(a.host(), a.port()) : new InetSocketAddress(a.port()));
            } catch (IOException e) {
                throw new IllegalArgumentException(bindEach
                        ? "cannot listen on " + a + " (" + e.getMessage() + "); stop what runs there or pick another --port"
                        : "port " + a.port() + " is in use; stop what runs there or pick another --base-port");
            }
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot create folder " + dir + ": " + e.getMessage());
        }
        for (int i = 0; i < processes.size(); i++) spawn(i);
    }

    /**
     * {@code add node}: starts a fresh node with the next id and port that asks the cluster to add
     * it as a learner ({@code -join}), and waits until it is a member.
     */
    synchronized String addNode(RaftKvClient client, Duration timeout) {
        int id = addresses.size();
        HostPort last = addresses.getLast();
        int port = last.port() + 1;
        while (port < 65535 && !free(bindEach ? last.host() : null, port)) port++;
        HostPort self = new HostPort(last.host(), port);
        addresses.add(self);
        processes.add(null);
        joined.add(id);
        spawn(id);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            KvResult m = client.members();
            if (m.ok()) {
                for (var member : m.body().path("members")) {
                    if (member.path("id").asInt() == id) {
                        return "started node " + id + " on " + self + " (pid " + processes.get(id).pid() + "); it joined as a "
                                + member.path("role").asText() + ". Once 'member list' shows it caught up: member promote " + id;
                    }
                }
            }
            if (!processes.get(id).isAlive()) return "node " + id + " exited; see " + log(id);
            try {
                Thread.sleep(100); // polling a condition with a deadline, not a fixed wait
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return "started node " + id + " on " + self + " but it is not a member yet; see " + log(id);
    }

    /** {@code remove <id>}: removes the node from the membership, then stops its process. */
    String removeNode(String which, RaftKvClient client) {
        int id;
        try {
            id = Integer.parseInt(which);
        } catch (NumberFormatException e) {
            return "remove takes a node id, as 'status' shows";
        }
        KvResult r = client.removeMember(id);
        if (!r.ok()) return "error: " + MemberCommand.failure(r);
        Process p;
        synchronized (this) {
            p = id < processes.size() ? processes.get(id) : null;
        }
        if (p != null && p.isAlive()) {
            p.destroy();
            try {
                if (!p.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) p.destroyForcibly();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return "removed node " + id + " from the membership (configuration of log index "
                + r.body().path("configIndex").asLong() + ")" + (p != null ? " and stopped its process" : "");
    }

    private static boolean free(String host, int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(host == null ? new InetSocketAddress(port) : new InetSocketAddress(host, port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private synchronized void spawn(int id) {
        HostPort self = addresses.get(id);
        List<String> cmd = new ArrayList<>(List.of(javaBinary()));
        cmd.addAll(JvmDefaults.current());
        cmd.addAll(List.of("-cp",
                System.getProperty("java.class.path"), Main.class.getName(), "-id", String.valueOf(id), "-host",
                self.host(), "-port", String.valueOf(self.port()), "-data",
                dir.resolve("node-" + id).toString(), "--no-shell", "--exit-with-pid",
                String.valueOf(ProcessHandle.current().pid())));
        if (!joined.contains(id)) {
            // Bound nodes may sort in another order than their ids (127.0.0.10 < 127.0.0.2): explicit ids.
            String peers = IntStream.range(0, addresses.size()).filter(i -> i != id && !joined.contains(i))
                    .mapToObj(i -> (bindEach ? i + "=" : "") + addresses.get(i)).collect(Collectors.joining(","));
            cmd.addAll(List.of("-peers", peers));
        } else if (!Files.isDirectory(dir.resolve("node-" + id))) {
            // First start of an added node: it asks the others to add it; a restart knows its configuration.
            String others = IntStream.range(0, addresses.size()).filter(i -> i != id)
                    .mapToObj(i -> addresses.get(i).toString()).collect(Collectors.joining(","));
            cmd.addAll(List.of("-join", others));
        }
        if (bindEach) cmd.addAll(List.of("--bind", self.host()));
        cmd.addAll(extraNodeArgs);
        LocalTls certs = tls;
        if (certs != null) cmd.addAll(certs.nodeArgs(id));
        Path log = log(id);
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.environment().putIfAbsent("MALLOC_ARENA_MAX", "2"); // as the launcher: fewer glibc arenas
            processes.set(id, pb.redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start node " + id, e);
        }
    }

    /** Waits until some node reports itself leader; returns its id. */
    OptionalInt awaitLeader(RaftKvClient client, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            OptionalInt leader = findLeader(client);
            if (leader.isPresent()) return leader;
            try {
                Thread.sleep(50); // polling a condition with a deadline, not a fixed wait
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return OptionalInt.empty();
    }

    OptionalInt findLeader(RaftKvClient client) {
        for (HostPort a : List.copyOf(addresses)) {
            KvResult s = client.status(a);
            if (s.ok() && "leader".equals(s.body().path("role").asText())) return OptionalInt.of(s.body().get("id").asInt());
        }
        return OptionalInt.empty();
    }

    String kill(String which, RaftKvClient client) {
        int id;
        if (which.equalsIgnoreCase("leader")) {
            OptionalInt leader = findLeader(client);
            if (leader.isEmpty()) return "no leader right now";
            id = leader.getAsInt();
        } else {
            try {
                id = Integer.parseInt(which);
            } catch (NumberFormatException e) {
                return "kill takes a node id (0.." + (processes.size() - 1) + ") or 'leader'";
            }
        }
        if (id < 0 || id >= processes.size()) return "no node " + id + "; ids are 0.." + (processes.size() - 1);
        Process p = processes.get(id);
        if (p == null || !p.isAlive()) return "node " + id + " is not running";
        p.destroyForcibly();
        try {
            p.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return "killed node " + id + " (pid " + p.pid() + ") with SIGKILL";
    }

    String start(String which) {
        int id;
        try {
            id = Integer.parseInt(which);
        } catch (NumberFormatException e) {
            return "start takes a node id (0.." + (processes.size() - 1) + ")";
        }
        if (id < 0 || id >= processes.size()) return "no node " + id + "; ids are 0.." + (processes.size() - 1);
        if (processes.get(id) != null && processes.get(id).isAlive()) return "node " + id + " is already running";
        spawn(id);
        return "started node " + id + " (pid " + processes.get(id).pid() + "); it catches up from the leader";
    }

    // ---------------------------------------------------------------- NodeProcesses (raftkv chaos)

    @Override
    public Path log(int id) {
        return dir.resolve("node-" + id + ".log");
    }

    @Override
    public synchronized OptionalLong pid(int id) {
        Process p = processes.get(id);
        return p != null && p.isAlive() ? OptionalLong.of(p.pid()) : OptionalLong.empty();
    }

    @Override
    public long kill9(int id) {
        Process p;
        synchronized (this) {
            p = processes.get(id);
        }
        if (p == null || !p.isAlive()) throw new IllegalStateException("node " + id + " is not running");
        p.destroyForcibly(); // SIGKILL, which also ends a stopped (SIGSTOP) process
        try {
            if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                throw new IllegalStateException("node " + id + " (pid " + p.pid() + ") did not exit 10 s after SIGKILL");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return p.pid();
    }

    @Override
    public synchronized long start(int id) {
        if (processes.get(id) != null && processes.get(id).isAlive()) throw new IllegalStateException("node " + id + " is running");
        spawn(id);
        return processes.get(id).pid();
    }

    @Override
    public synchronized void close() {
        for (Process p : processes) if (p != null) p.destroy();
        for (Process p : processes) {
            if (p == null) continue;
            try {
                if (!p.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) p.destroyForcibly();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static String javaBinary() {
        return ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }
}
