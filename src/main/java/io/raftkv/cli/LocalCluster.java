package io.raftkv.cli;

import io.raftkv.client.KvResult;
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
import java.util.List;
import java.util.OptionalInt;
import java.util.stream.Collectors;

/**
 * N node processes on this machine, started with the report's bare {@code -peers} form, each
 * logging to its own file. Children exit by themselves when this process dies.
 */
final class LocalCluster implements AutoCloseable {
    private final List<HostPort> addresses = new ArrayList<>();
    private final Process[] processes;
    private final Path dir;
    private final List<String> extraNodeArgs;

    LocalCluster(int nodes, String host, int basePort, Path dir, List<String> extraNodeArgs) {
        this.dir = dir;
        this.extraNodeArgs = List.copyOf(extraNodeArgs);
        this.processes = new Process[nodes];
        for (int i = 0; i < nodes; i++) addresses.add(new HostPort(host, basePort + i));
    }

    List<HostPort> addresses() {
        return addresses;
    }

    Path dir() {
        return dir;
    }

    /** Starts every node; throws {@link IllegalArgumentException} if a port is taken. */
    void startAll() {
        for (HostPort a : addresses) {
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new InetSocketAddress(a.port()));
            } catch (IOException e) {
                throw new IllegalArgumentException("port " + a.port() + " is in use; stop what runs there or pick another --base-port");
            }
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot create folder " + dir + ": " + e.getMessage());
        }
        for (int i = 0; i < processes.length; i++) spawn(i);
    }

    private void spawn(int id) {
        HostPort self = addresses.get(id);
        String peers = addresses.stream().filter(a -> !a.equals(self)).map(HostPort::toString)
                .collect(Collectors.joining(","));
        List<String> cmd = new ArrayList<>(List.of(javaBinary(), "-Xss512k", "-XX:+UseSerialGC", "-cp",
                System.getProperty("java.class.path"), Main.class.getName(), "-id", String.valueOf(id), "-host",
                self.host(), "-port", String.valueOf(self.port()), "-peers", peers, "-data",
                dir.resolve("node-" + id).toString(), "--no-shell", "--exit-with-pid",
                String.valueOf(ProcessHandle.current().pid())));
        cmd.addAll(extraNodeArgs);
        Path log = dir.resolve("node-" + id + ".log");
        try {
            processes[id] = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
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
        for (HostPort a : addresses) {
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
                return "kill takes a node id (0.." + (processes.length - 1) + ") or 'leader'";
            }
        }
        if (id < 0 || id >= processes.length) return "no node " + id + "; ids are 0.." + (processes.length - 1);
        Process p = processes[id];
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
            return "start takes a node id (0.." + (processes.length - 1) + ")";
        }
        if (id < 0 || id >= processes.length) return "no node " + id + "; ids are 0.." + (processes.length - 1);
        if (processes[id] != null && processes[id].isAlive()) return "node " + id + " is already running";
        spawn(id);
        return "started node " + id + " (pid " + processes[id].pid() + "); it catches up from the leader";
    }

    @Override
    public void close() {
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
