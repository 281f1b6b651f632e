package io.raftkv.sim;

import io.raftkv.raft.Message;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;

/**
 * The simulated network between nodes ({@code 1..n}) and clients ({@link #clientEndpoint}). Raft
 * messages are datagrams: each is delayed independently (so they reorder), and may be dropped or
 * duplicated. Client requests ride on connections ({@link Rpc}): not lost at random, but a cut
 * link swallows them (the caller times out), and a node that is down refuses them or, if it
 * crashes while serving one, breaks the connection.
 *
 * <p>Links are directed: a partition cuts both directions, a one-way partition only one. A link
 * is checked when a message is sent and again when it arrives.
 */
final class SimNetwork {
    private final Simulation sim;
    private final Random random;
    private final SimConfig cfg;
    /** Cut directed links, encoded by {@link #link}. */
    private final Set<Long> cut = new HashSet<>();
    private boolean lossy = true;
    private long nextRpcId;

    long raftSent;
    long raftDropped;
    long raftDuplicated;
    long rpcsSent;

    SimNetwork(Simulation sim, Random random, SimConfig cfg) {
        this.sim = sim;
        this.random = random;
        this.cfg = cfg;
    }

    static int clientEndpoint(int client) {
        return 100 + client;
    }

    private static long link(int from, int to) {
        return ((long) from << 32) | (to & 0xFFFFFFFFL);
    }

    boolean linkUp(int from, int to) {
        return !cut.contains(link(from, to));
    }

    void cut(int from, int to) {
        cut.add(link(from, to));
    }

    void cutBothWays(int a, int b) {
        cut(a, b);
        cut(b, a);
    }

    void heal() {
        cut.clear();
    }

    boolean hasCuts() {
        return !cut.isEmpty();
    }

    /** No more random loss or duplication (the quiet phase). */
    void stopLoss() {
        lossy = false;
    }

    long delayMs() {
        long d = cfg.minDelayMs() + random.nextInt(cfg.maxDelayMs() - cfg.minDelayMs() + 1);
        if (lossy && random.nextDouble() < cfg.slowRate()) d += 20 + random.nextInt(180);
        return d;
    }

    // ---------------------------------------------------------------- Raft messages

    void send(Message m) {
        raftSent++;
        if (!linkUp(m.from(), m.to()) || lossy && random.nextDouble() < cfg.dropRate()) {
            raftDropped++;
            sim.trace("drop %s", m);
            return;
        }
        int copies = lossy && random.nextDouble() < cfg.dupRate() ? 2 : 1;
        if (copies > 1) raftDuplicated++;
        for (int i = 0; i < copies; i++) sim.scheduler().after(delayMs(), () -> deliver(m));
    }

    private void deliver(Message m) {
        SimServer to = sim.server(m.to());
        if (to == null || !linkUp(m.from(), m.to())) {
            raftDropped++;
            return;
        }
        sim.trace("deliver %s", m);
        to.receive(m);
    }

    // ---------------------------------------------------------------- client connections

    /** Sends {@code request} from endpoint {@code caller} to node {@code callee}. */
    Rpc call(int caller, int callee, ClientRequest request, Rpc.Listener listener) {
        Rpc rpc = new Rpc(++nextRpcId, caller, callee, request, listener);
        rpcsSent++;
        SimServer target = sim.server(callee);
        if (target == null) {
            sim.scheduler().after(1, () -> rpc.fail(Rpc.Failure.CONNECT_REFUSED));
            return rpc;
        }
        if (!linkUp(caller, callee)) return rpc; // swallowed: the caller's timeout fires
        sim.scheduler().after(delayMs(), () -> {
            SimServer now = sim.server(callee);
            if (now != target) {
                // Crashed (and maybe restarted) while the request travelled: the connection broke.
                rpc.fail(Rpc.Failure.CONNECTION_LOST);
                return;
            }
            if (!linkUp(caller, callee) || rpc.finished()) return;
            sim.trace("node %d gets %s #%d from %s", callee, request, rpc.id, endpointName(caller));
            target.accept(rpc);
        });
        return rpc;
    }

    /** The node serving {@code rpc} answers it. */
    void reply(Rpc rpc, ClientReply reply) {
        if (!linkUp(rpc.callee, rpc.caller)) return;
        sim.scheduler().after(delayMs(), () -> {
            if (!rpc.finished()) sim.trace("%s gets %s for #%d", endpointName(rpc.caller), reply, rpc.id);
            rpc.complete(reply);
        });
    }

    /** The node serving {@code rpc} crashed: the caller sees the connection break. */
    void broken(Rpc rpc) {
        sim.scheduler().after(1, () -> rpc.fail(Rpc.Failure.CONNECTION_LOST));
    }

    static String endpointName(int endpoint) {
        return endpoint >= 100 ? "client " + (endpoint - 100) : "node " + endpoint;
    }
}
