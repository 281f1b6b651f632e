package io.raftkv.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftkv.transport.HostPort;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A watch that survives its node: it follows {@code GET /watch} on one node of the cluster and,
 * when the stream ends (the node died, was cut off, or cut this watcher off as too slow), resumes
 * on the next node from where it was, so the callback sees every change once, in revision order.
 * Events of one revision are counted, so a stream cut in the middle of a transaction's events
 * resumes at that revision and skips the ones already delivered. A node whose history no longer
 * reaches back far enough (410) is passed over for the next; when a whole round of the nodes
 * served nothing and some answered so, the watch ends with {@link Change#compacted()}: read the state again and watch from its
 * revision + 1.
 */
public final class Watch implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One change ({@code type} put, append, delete or expire), or, with {@code type} "compacted",
     * the end of the watch: {@code revision} is then the compacted revision.
     */
    public record Change(String type, String key, String value, long revision, long createRevision, long version) {
        public boolean compacted() {
            return type.equals("compacted");
        }
    }

    private final List<HostPort> nodes;
    private final String query;
    private final Consumer<Change> onChange;
    private final HttpClient http;
    private final String scheme;
    /** The client's Authorization header value now (null: none). */
    private final java.util.function.Supplier<String> authorization;
    private final Thread thread;
    private volatile boolean closed;
    private volatile java.io.InputStream body;
    /** The revision of the last change delivered, and how many of its changes were. */
    private long lastRevision;
    private int deliveredAtLast;
    /** Every change at or below this revision was delivered (a progress event said so). */
    private long complete;
    private volatile int reconnects;
    /** Since a node last served this watch: the nodes tried, those that answered 410, the lowest revision they named. */
    private int attemptsSinceServed;
    private int compactedAnswers;
    private long lowestCompact = Long.MAX_VALUE;

    Watch(List<HostPort> nodes, String keyOrPrefix, boolean prefix, long fromRevision, Consumer<Change> onChange,
          Duration connectTimeout, javax.net.ssl.SSLContext tls, java.util.function.Supplier<String> authorization) {
        this.authorization = authorization;
        this.nodes = List.copyOf(nodes);
        this.query = (prefix ? "prefix=" : "key=") + URLEncoder.encode(keyOrPrefix, StandardCharsets.UTF_8);
        this.onChange = onChange;
        this.complete = fromRevision - 1;
        this.lastRevision = fromRevision - 1;
        HttpClient.Builder b = HttpClient.newBuilder();
        if (tls != null) b.sslContext(tls);
        this.scheme = tls == null ? "http://" : "https://";
        this.http = b.version(HttpClient.Version.HTTP_1_1).connectTimeout(connectTimeout).build();
        this.thread = Thread.ofVirtual().name("raftkv-watch").start(this::run);
    }

    /** How many times the watch resumed on a node after its stream ended. */
    public int reconnects() {
        return reconnects;
    }

    private void run() {
        int node = 0;
        while (!closed) {
            HostPort at = nodes.get(node % nodes.size());
            attemptsSinceServed++;
            try {
                long compactRevision = follow(at);
                if (compactRevision > 0) {
                    compactedAnswers++;
                    lowestCompact = Math.min(lowestCompact, compactRevision);
                }
            } catch (IOException | UncheckedIOException e) {
                // the node is down or the stream broke: resume elsewhere
            } catch (InterruptedException e) {
                return;
            }
            // Each node compacts its own history (and one that installed a snapshot starts anew): the
            // watch is over only when a whole round of nodes served nothing and some said 410.
            if (compactedAnswers > 0 && attemptsSinceServed >= nodes.size()) {
                deliver(new Change("compacted", null, null, lowestCompact, 0, 0));
                return;
            }
            if (closed) return;
            node++;
            reconnects++;
            try {
                Thread.sleep(node % nodes.size() == 0 ? 200 : 0); // a pause once every node was tried
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * Follows one node's stream until it ends; the node's compacted revision if it answered 410
     * (its history does not reach back to where this watch is), else 0.
     */
    private long follow(HostPort at) throws IOException, InterruptedException {
        // Resume at the revision in progress when some of its changes were delivered, else after it.
        long from = deliveredAtLast > 0 && lastRevision > complete ? lastRevision : Math.max(lastRevision, complete) + 1;
        int skip = from == lastRevision ? deliveredAtLast : 0;
        HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(scheme + at + "/watch?" + query
                + (from >= 1 ? "&fromRevision=" + from : ""))).GET();
        String auth = authorization.get();
        if (auth != null) rb.header("Authorization", auth);
        HttpRequest req = rb.build();
        HttpResponse<Stream<String>> res = http.send(req, HttpResponse.BodyHandlers.ofLines());
        if (res.statusCode() == 410) {
            JsonNode err = JSON.readTree(res.body().reduce("", String::concat));
            return Math.max(1, err.path("compactRevision").asLong());
        }
        if (res.statusCode() != 200) {
            res.body().close();
            return 0;
        }
        compactedAnswers = 0;
        attemptsSinceServed = 0;
        lowestCompact = Long.MAX_VALUE;
        String event = null;
        try (Stream<String> lines = res.body()) {
            for (Iterator<String> it = lines.iterator(); it.hasNext() && !closed; ) {
                String line = it.next();
                if (line.startsWith("event: ")) {
                    event = line.substring(7);
                } else if (line.startsWith("data: ") && event != null) {
                    JsonNode d = JSON.readTree(line.substring(6));
                    switch (event) {
                        case "put", "append", "delete", "expire" -> {
                            long rev = d.path("revision").asLong();
                            if (rev == from && skip > 0) {
                                skip--; // delivered before the stream broke
                                continue;
                            }
                            if (rev > lastRevision) {
                                lastRevision = rev;
                                deliveredAtLast = 0;
                            }
                            deliveredAtLast++;
                            deliver(new Change(event, d.path("key").asText(), d.hasNonNull("value") ? d.get("value").asText() : null,
                                    rev, d.path("createRevision").asLong(), d.path("version").asLong()));
                        }
                        case "progress" -> complete = Math.max(complete, d.path("revision").asLong());
                        // Cut off (too slow, node stopping, or a snapshot from the leader took this node's
                        // history): resume, on another node.
                        case "error" -> {
                            return 0;
                        }
                        // The stream starts with every change up to fromRevision - 1 behind it.
                        case "created" -> complete = Math.max(complete, d.path("fromRevision").asLong() - 1);
                        default -> { }
                    }
                    event = null;
                }
            }
        }
        return 0;
    }

    private void deliver(Change c) {
        if (!closed) onChange.accept(c);
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        http.shutdownNow();
    }
}
