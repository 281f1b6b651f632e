package io.raftkv.client.recipes;

import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.client.Watch;

import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Leader election, or a lock, on raftkv (the recipe etcd's {@code concurrency.Election} and
 * Consul's sessions implement): the leader is whoever created {@code key}, attached to a lease
 * it keeps alive. Creating it is a compare-and-swap that expects the key absent, so at most one
 * candidate wins; when the leader stops renewing (it died, or is cut off), the lease expires, the
 * key is deleted, and a watcher of the key sees the delete and tries again.
 *
 * <pre>{@code
 * try (Election e = new Election(client, "election/scheduler", "node-7", 5_000)) {
 *     e.campaign();          // blocks until this candidate leads
 *     ... lead while e.isLeader() ...
 * }                          // resigns: revokes the lease, the next candidate takes over at once
 * }</pre>
 * A leader that loses its lease (its keep-alives did not get through for a TTL) learns it from
 * {@link #isLeader()}; what it did as leader after that point must be fenced by the caller, e.g.
 * with {@link #leaderRevision()} in a compare of its writes.
 */
public final class Election implements AutoCloseable {
    private final RaftKvClient client;
    private final String key;
    private final String candidate;
    private final long ttlMs;
    private volatile long leaseId;
    private volatile long leaderRevision;
    private volatile boolean leader;
    private AutoCloseable keeper;

    public Election(RaftKvClient client, String key, String candidate, long ttlMs) {
        this.client = client;
        this.key = key;
        this.candidate = candidate;
        this.ttlMs = ttlMs;
    }

    /** Blocks until this candidate leads (or the thread is interrupted). */
    public void campaign() throws InterruptedException {
        while (true) {
            if (leaseId == 0) {
                KvResult g = client.grantLease(ttlMs);
                if (!g.ok()) throw new IllegalStateException("cannot grant a lease: " + g.body());
                leaseId = g.body().path("leaseId").asLong();
                keeper = client.keepAliveUntilClosed(leaseId, ttlMs, () -> {
                    leader = false;
                    leaseId = 0;
                });
            }
            KvResult c = client.createWithLease(key, candidate, leaseId);
            if (c.ok() && c.body().path("succeeded").asBoolean()) {
                leaderRevision = c.body().path("revision").asLong();
                leader = true;
                return;
            }
            if (c.status() == 404) { // our lease expired meanwhile: start over with a new one
                leaseId = 0;
                continue;
            }
            if (!c.ok()) throw new IllegalStateException("cannot campaign: " + c.body());
            // Someone leads: wait until the key is deleted (resigned or expired), then try again.
            long seenAt = c.body().path("current").path("modRevision").asLong();
            CountDownLatch gone = new CountDownLatch(1);
            try (Watch w = client.watch(key, false, seenAt + 1, change -> {
                if (!change.type().equals("put") && !change.type().equals("append")) gone.countDown();
            })) {
                while (!gone.await(ttlMs, TimeUnit.MILLISECONDS)) {
                    KvResult now = client.get(key);
                    if (now.notFound()) break; // missed while the watch was starting: try again
                }
            }
        }
    }

    /** Whether this candidate still leads, as far as it knows (its lease was renewed in time). */
    public boolean isLeader() {
        return leader && leaseId != 0;
    }

    /** The revision at which this candidate became leader: a fencing token for its writes. */
    public long leaderRevision() {
        return leaderRevision;
    }

    /** The current leader's name, if any. */
    public Optional<String> leaderName() {
        KvResult r = client.get(key);
        return r.ok() ? r.value() : Optional.empty();
    }

    /** Stops leading (revokes the lease, deleting the key) or stops campaigning. */
    public void resign() {
        leader = false;
        try {
            if (keeper != null) keeper.close();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        if (leaseId != 0) client.revokeLease(leaseId);
        leaseId = 0;
    }

    /**
     * Stops renewing the lease without revoking it, as a crashed leader would: the others take over
     * once it expires (for tests and demonstrations).
     */
    public void abandon() {
        leader = false;
        try {
            if (keeper != null) keeper.close();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        resign();
    }
}
