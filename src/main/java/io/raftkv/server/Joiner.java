package io.raftkv.server;

import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.transport.HostPort;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

/**
 * {@code raftkv -join}: asks a running cluster to add this node as a learner (thesis §4.2.1,
 * {@code POST /members/add}) until it is a member, on a thread of its own while the node serves.
 * Asking again is harmless: a member at the same address is answered 200. A refusal that asking
 * again cannot change (the id or the address belongs to another member) is reported once, and the
 * joiner stops.
 */
public final class Joiner implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Joiner.class);

    private final Thread thread;
    private volatile boolean stopped;

    private final javax.net.ssl.SSLContext tls;

    private Joiner(int id, HostPort self, List<HostPort> cluster, Duration requestTimeout, Consumer<String> refused,
                   javax.net.ssl.SSLContext tls) {
        this.tls = tls;
        this.thread = Thread.ofVirtual().name("raftkv-join-" + id).start(() -> run(id, self, cluster, requestTimeout, refused));
    }

    /** Starts asking {@code cluster} to add node {@code id} at {@code self}; {@code refused} hears a final no. */
    public static Joiner start(int id, HostPort self, List<HostPort> cluster, Duration requestTimeout,
                               Consumer<String> refused) {
        return new Joiner(id, self, cluster, requestTimeout, refused, null);
    }

    /** As {@link #start(int, HostPort, List, Duration, Consumer)}, over HTTPS with {@code tls} when not null. */
    public static Joiner start(int id, HostPort self, List<HostPort> cluster, Duration requestTimeout,
                               Consumer<String> refused, javax.net.ssl.SSLContext tls) {
        return new Joiner(id, self, cluster, requestTimeout, refused, tls);
    }

    private void run(int id, HostPort self, List<HostPort> cluster, Duration requestTimeout, Consumer<String> refused) {
        long attempts = 0;
        try (RaftKvClient client = new RaftKvClient(cluster, requestTimeout, true, requestTimeout, null, tls)) {
            while (!stopped) {
                KvResult r = client.addMember(id, self.toString());
                attempts++;
                if (r.ok()) {
                    LOG.info("node {} is a member of the cluster at {} (as a learner until promoted): {}", id, cluster,
                            r.body());
                    return;
                }
                String reason = r.body().path("reason").asText("");
                if (r.status() == 409 && (reason.equals("already_member") || reason.equals("address_in_use"))
                        || r.status() == 400) {
                    refused.accept("the cluster at " + cluster + " refused to add node " + id + " at " + self + ": "
                            + r.body().path("error").asText(r.body().toString()));
                    return;
                }
                if (attempts == 1 || attempts % 10 == 0) {
                    LOG.info("node {} asks the cluster at {} to add it (attempt {}): {} {}", id, cluster, attempts,
                            r.status() == 0 ? "unreachable" : "HTTP " + r.status(), r.body().path("error").asText(""));
                }
                sleep(1000);
            }
        }
    }

    private void sleep(long ms) {
        try {
            Thread.sleep(ms); // a retry pause on the joiner's own thread, not a test wait
        } catch (InterruptedException e) {
            stopped = true;
        }
    }

    /** Whether it is still asking. */
    public boolean running() {
        return thread.isAlive();
    }

    @Override
    public void close() {
        stopped = true;
        thread.interrupt();
    }
}
