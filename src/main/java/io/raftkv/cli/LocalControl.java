package io.raftkv.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.raftkv.transport.HostPort;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;

/**
 * The control server of {@code raftkv local}, on loopback: the web view's kill / restart / cut /
 * heal buttons reach it through the node serving the page ({@code POST /ui/control/...}), which
 * relays them here because only this process owns the node processes. {@code POST /kill?node=N}
 * (SIGKILL), {@code /restart?node=N}, {@code /cut?node=N} and {@code /heal?node=N} (the node drops,
 * or stops dropping, every Raft message: {@code POST /ui/network} of that node). Answers JSON:
 * {@code {"message": ...}}, or {@code {"error": ...}} with 400 / 404 / 409 / 502.
 */
final class LocalControl implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpServer server;
    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();
    private volatile LocalCluster cluster;

    private LocalControl(HttpServer server) {
        this.server = server;
    }

    /** Listens on a free loopback port; {@link #attach} the cluster before the first request comes. */
    static LocalControl start() {
        try {
            HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
            LocalControl c = new LocalControl(s);
            s.createContext("/", c::handle);
            s.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
            s.start();
            return c;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the control server of 'raftkv local'", e);
        }
    }

    /** The URL the nodes get as {@code --local-control}. */
    String url() {
        return "http://" + server.getAddress().getHostString() + ":" + server.getAddress().getPort();
    }

    void attach(LocalCluster cluster) {
        this.cluster = cluster;
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String op = ex.getRequestURI().getPath().substring(1);
            if (!List.of("kill", "restart", "cut", "heal").contains(op)) {
                answer(ex, 404, "error", "unknown control '" + op + "'; there are kill, restart, cut and heal");
                return;
            }
            if (!ex.getRequestMethod().equals("POST")) {
                answer(ex, 405, "error", "/" + op + " takes POST");
                return;
            }
            String query = ex.getRequestURI().getQuery();
            String node = query != null && query.startsWith("node=") ? query.substring(5) : "";
            LocalCluster c = cluster;
            int id;
            try {
                id = Integer.parseInt(node);
            } catch (NumberFormatException e) {
                answer(ex, 400, "error", "/" + op + " takes node=ID; got '" + node + "'");
                return;
            }
            if (c == null || id < 0 || id >= c.addresses().size()) {
                answer(ex, 404, "error", "no node " + id + (c == null ? "" : "; ids are 0.." + (c.addresses().size() - 1)));
                return;
            }
            try {
                String done = switch (op) {
                    case "kill" -> "killed node " + id + " (pid " + c.kill9(id) + ") with SIGKILL";
                    case "restart" -> "started node " + id + " (pid " + c.start(id) + "); it catches up from the leader";
                    default -> network(c.addresses().get(id), id, op.equals("cut"));
                };
                answer(ex, 200, "message", done);
            } catch (IllegalStateException e) {
                answer(ex, 409, "error", e.getMessage());
            } catch (NetworkFailure e) {
                answer(ex, 502, "error", e.getMessage());
            }
        }
    }

    private String network(HostPort address, int id, boolean cut) {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://" + address + "/ui/network?cut=" + cut))
                .timeout(Duration.ofSeconds(5)).POST(HttpRequest.BodyPublishers.noBody()).build();
        try {
            HttpResponse<String> res = client.send(req, HttpResponse.BodyHandlers.ofString());
            if (res.statusCode() != 200) throw new NetworkFailure("node " + id + " answered " + res.statusCode() + ": " + res.body());
        } catch (IOException e) {
            throw new NetworkFailure("node " + id + " at " + address + " does not answer (" + e.getMessage() + "); is it running?");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NetworkFailure("interrupted");
        }
        return cut ? "cut node " + id + "'s network: it drops every Raft message in and out" : "healed node " + id + "'s network";
    }

    private static final class NetworkFailure extends RuntimeException {
        NetworkFailure(String message) {
            super(message);
        }
    }

    private static void answer(HttpExchange ex, int status, String field, String text) throws IOException {
        byte[] body = JSON.writeValueAsString(JSON.createObjectNode().put(field, text)).getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, body.length);
        ex.getResponseBody().write(body);
    }

    @Override
    public void close() {
        server.stop(0);
        client.close();
    }
}
