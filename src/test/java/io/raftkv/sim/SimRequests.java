package io.raftkv.sim;

import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvCommand;
import io.raftkv.node.ReadOutcome;
import io.raftkv.node.WriteOutcome;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The client side of one node: {@link io.raftkv.server.ClientRequests}' rules on simulated
 * connections. A request runs here if this node leads, else it is forwarded to the leader the
 * core names (at most two hops) or retried every {@link #RETRY_MS} until the request's deadline;
 * what it answers then says whether a write may still commit (503 with or without "retryable").
 */
final class SimRequests {
    private static final int MAX_HOPS = 2;
    private static final long RETRY_MS = 20;

    private final Simulation sim;
    private final SimServer server;
    /** Requests being served here, whose connections break if this node crashes. */
    private final List<Rpc> open = new ArrayList<>();
    /** Forwards this node made, abandoned if it crashes. */
    private final List<Rpc> forwards = new ArrayList<>();

    SimRequests(Simulation sim, SimServer server) {
        this.sim = sim;
        this.server = server;
    }

    /** One request and its deadline; answered once. */
    private final class Call {
        final Rpc rpc;
        final long deadlineMs;
        boolean replied;

        Call(Rpc rpc) {
            this.rpc = rpc;
            this.deadlineMs = sim.scheduler().nowMs() + sim.config().requestTimeoutMs();
        }

        ClientRequest request() {
            return rpc.request;
        }

        long remainingMs() {
            return deadlineMs - sim.scheduler().nowMs();
        }

        void reply(ClientReply r) {
            if (replied || !server.alive()) return;
            replied = true;
            open.remove(rpc);
            sim.network().reply(rpc, r);
        }
    }

    void handle(Rpc rpc) {
        open.add(rpc);
        Call call = new Call(rpc);
        if (rpc.request.isWrite()) runWrite(call, rpc.request.command());
        else runRead(call);
    }

    void crashed() {
        for (Rpc rpc : open) sim.network().broken(rpc);
        open.clear();
        for (Rpc rpc : forwards) rpc.abandon();
        forwards.clear();
    }

    // ---------------------------------------------------------------- writes

    private void runWrite(Call call, KvCommand cmd) {
        boolean[] done = {false};
        server.propose(cmd, outcome -> {
            if (done[0]) return;
            done[0] = true;
            switch (outcome) {
                case WriteOutcome.Applied<ApplyResult> a -> call.reply(applied(a));
                // Another entry took its index: it will never apply, so trying again is safe.
                case WriteOutcome.Superseded<ApplyResult> s -> retryLater(call, () -> runWrite(call, cmd));
                case WriteOutcome.Unknown<ApplyResult> u -> call.reply(unknownOutcome(u.reason()));
                case WriteOutcome.NotLeader<ApplyResult> n -> forwardOrWait(call, n.leaderHint(), () -> runWrite(call, cmd));
                // ClientRequests: held until the transfer ends (thesis §3.10), then forwarded or proposed here.
                case WriteOutcome.TransferInProgress<ApplyResult> t -> {
                    sim.count("writes held during a leadership transfer");
                    retryLater(call, () -> runWrite(call, cmd));
                }
            }
        });
        // ClientRequests: propose(cmd).orTimeout(remaining) -> "outcome unknown".
        server.later(Math.max(1, call.remainingMs()), () -> {
            if (done[0] || !server.alive()) return;
            done[0] = true;
            call.reply(unknownOutcome("the write was not committed in time"));
        });
    }

    private ClientReply applied(WriteOutcome.Applied<ApplyResult> a) {
        return reply(a.result(), false);
    }

    private ClientReply reply(ApplyResult result, boolean duplicate) {
        OptionalInt leader = OptionalInt.of(server.id);
        return switch (result) {
            case ApplyResult.Applied r -> new ClientReply(200, Optional.of(r.value()), duplicate, 0, false, false, leader, null);
            case ApplyResult.Registered r -> new ClientReply(200, Optional.empty(), duplicate, r.clientId(), false, false,
                    leader, null);
            // A retry: a delete, cas or txn repeats the answer it got the first time (put and append have none kept).
            case ApplyResult.Duplicate d -> d.original() != null ? reply(d.original(), true)
                    : new ClientReply(200, Optional.empty(), true, 0, false, false, leader, null);
            case ApplyResult.SessionExpired e -> new ClientReply(409, Optional.empty(), false, 0, true, false, leader,
                    "session expired");
            case ApplyResult.StaleSeq e -> new ClientReply(409, Optional.empty(), false, 0, false, false, leader,
                    "stale seq " + e.seq() + " < " + e.lastSeq());
            case ApplyResult.ValueTooLarge e -> new ClientReply(413, Optional.empty(), false, 0, false, false, leader, "value too large");
            case ApplyResult.Deleted r -> new ClientReply(200, Optional.of(Long.toString(r.count())), duplicate, 0, false,
                    false, leader, null);
            case ApplyResult.Cas r -> new ClientReply(200, r.succeeded() || r.current() == null ? Optional.empty()
                    : Optional.of(r.current().value()), duplicate, 0, false, false, leader, null, Optional.of(r.succeeded()));
            // the one-key txn of the simulated clients: on failure, its get
            case ApplyResult.Txn r -> new ClientReply(200, r.succeeded() || r.results().isEmpty()
                    || r.results().getFirst().kv() == null ? Optional.empty() : Optional.of(r.results().getFirst().kv().value()),
                    duplicate, 0, false, false, leader, null, Optional.of(r.succeeded()));
            case ApplyResult.Lease r -> throw new IllegalStateException("the simulation sends no lease request");
            case ApplyResult.LeaseEnded r -> throw new IllegalStateException("the simulation sends no lease request");
            case ApplyResult.LeaseNotFound r -> throw new IllegalStateException("the simulation sends no lease request");
            case ApplyResult.LeasesExpired r -> throw new IllegalStateException("lease expiries have no client");
            case ApplyResult.AuthChanged r -> throw new IllegalStateException("the simulation sends no auth change");
        };
    }

    private static ClientReply unknownOutcome(String why) {
        return ClientReply.unavailable(false, why + "; the outcome is unknown");
    }

    // ---------------------------------------------------------------- reads

    private void runRead(Call call) {
        String key = call.request().key();
        boolean[] done = {false};
        server.read(key, outcome -> {
            if (done[0]) return;
            done[0] = true;
            switch (outcome) {
                case ReadOutcome.Value<Optional<String>> v -> call.reply(new ClientReply(v.value().isPresent() ? 200 : 404, v.value(), false,
                        0, false, false, OptionalInt.of(server.id), null));
                case ReadOutcome.NotLeader<Optional<String>> n -> forwardOrWait(call, n.leaderHint(), () -> runRead(call));
            }
        });
        server.later(Math.max(1, call.remainingMs()), () -> {
            if (done[0] || !server.alive()) return;
            done[0] = true;
            call.reply(ClientReply.unavailable(false, "no leader could serve the read in time"));
        });
    }

    // ---------------------------------------------------------------- forwarding

    private void forwardOrWait(Call call, OptionalInt hint, Runnable retry) {
        if (hint.isPresent() && hint.getAsInt() != server.id && call.request().hops() < MAX_HOPS) {
            forward(call, hint.getAsInt(), retry);
        } else {
            retryLater(call, retry);
        }
    }

    private void retryLater(Call call, Runnable retry) {
        if (call.remainingMs() <= 2 * RETRY_MS) {
            call.reply(ClientReply.unavailable(true, "no leader available"
                    + (call.request().isWrite() ? "; the write was not applied" : "")));
            return;
        }
        server.later(RETRY_MS, retry);
    }

    private void forward(Call call, int leader, Runnable retry) {
        sim.count("requests forwarded to the leader");
        boolean write = call.request().isWrite();
        Rpc[] sent = new Rpc[1];
        sent[0] = sim.network().call(server.id, leader, call.request().forwarded(), new Rpc.Listener() {
            @Override
            public void onReply(ClientReply reply) {
                server.onProcess(() -> {
                    forwards.remove(sent[0]);
                    call.reply(reply);
                });
            }

            @Override
            public void onFailure(Rpc.Failure failure) {
                server.onProcess(() -> {
                    forwards.remove(sent[0]);
                    if (failure == Rpc.Failure.CONNECT_REFUSED || !write) retryLater(call, retry);
                    else call.reply(unknownOutcome("the connection to leader " + leader + " failed"));
                });
            }
        });
        forwards.add(sent[0]);
        server.later(Math.max(1, call.remainingMs()), () -> {
            Rpc rpc = sent[0];
            if (rpc.finished() || !server.alive()) return;
            rpc.abandon();
            forwards.remove(rpc);
            if (!write) retryLater(call, retry);
            else call.reply(unknownOutcome("the leader did not answer in time"));
        });
    }
}
