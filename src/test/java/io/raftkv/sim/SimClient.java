package io.raftkv.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Random;
import java.util.function.Consumer;

/**
 * A client running {@link io.raftkv.client.RaftKvClient}'s logic on the simulated network, one
 * operation at a time (closed loop with a short think time).
 *
 * <p>Requests go to the last leader seen, else to the nodes in turn; a node that cannot be
 * reached, or that answers 503 when the request may be resent (retryable, or idempotent: a get,
 * or a write carrying its session seq), is skipped for the next one, pausing 50 ms after each
 * round, until the deadline. With sessions the client registers first and numbers its writes; a
 * resent write keeps its seq.
 */
final class SimClient {
    private static final long ROUND_PAUSE_MS = 50;

    private final Simulation sim;
    private final int index;
    private final int endpoint;
    private final Random random;
    private final List<Integer> nodes;
    private final boolean sessions;
    /** The planted bug: writes without a session are still treated as safe to resend. */
    private final boolean resendWithoutSession;
    private final int readPercent;
    private int preferred;
    private long clientId;
    private long seq;
    private int opsStarted;
    private boolean busy;
    /** Per "c" key: the value this client last saw there (empty: absent), what its compares expect. */
    private final java.util.Map<String, Optional<String>> lastSeen = new java.util.HashMap<>();

    SimClient(Simulation sim, int index, Random random) {
        this.sim = sim;
        this.index = index;
        this.endpoint = SimNetwork.clientEndpoint(index);
        this.random = random;
        this.nodes = new ArrayList<>();
        int n = sim.config().nodes();
        if (random.nextDouble() < sim.config().singleNodeClientRate()) {
            // Configured with one address (say, the node on its own host): that node forwards.
            nodes.add(1 + index % n);
        } else {
            for (int id = 1; id <= n; id++) nodes.add(id);
        }
        boolean bug = sim.config().has(PlantedBug.RETRY_WITHOUT_SESSIONS);
        this.sessions = !bug;
        this.resendWithoutSession = bug;
        this.preferred = nodes.get(index % nodes.size());
        // Some clients mostly read, some mostly write.
        this.readPercent = new int[]{20, 35, 80}[random.nextInt(3)];
    }

    /** The nodes this client knows (one, for a client configured with a single address). */
    List<Integer> nodes() {
        return nodes;
    }

    boolean busy() {
        return busy;
    }

    void start(long delayMs) {
        sim.scheduler().after(delayMs, this::nextOperation);
    }

    private void nextOperation() {
        if (sim.scheduler().nowMs() >= sim.config().clientsStopMs()) return;
        busy = true;
        int n = ++opsStarted;
        // A quarter of the operations go to keys of their own ("c0", "c1", ...) that also see deletes,
        // compare-and-swaps and one-key transactions; the "k" keys see put, append and get only, so
        // the checker keeps its sharpest search for them.
        boolean conditionalKey = random.nextInt(4) == 0;
        String key = (conditionalKey ? "c" : "k") + random.nextInt(sim.config().keys());
        // Values are unique per operation, so the checks can tell every write apart.
        String token = index + "." + n;
        int dice = random.nextInt(100);
        long callNs = sim.scheduler().nowNs();
        if (dice < readPercent) {
            sim.trace("client %d calls get(%s)", index, key);
            call(ClientRequest.get(key), true, r -> {
                if (r.status() == 200 || r.status() == 404) lastSeen.put(key, r.value());
                finish(switch (r.status()) {
                    case 200 -> new ClientOp(index, "get", key, Optional.empty(), r.value(), callNs, now(), true);
                    case 404 -> new ClientOp(index, "get", key, Optional.empty(), Optional.empty(), callNs, now(), true);
                    default -> new ClientOp(index, "get", key, Optional.empty(), Optional.empty(), callNs, now(), false);
                });
            });
        } else if (conditionalKey) {
            conditionalWrite(key, "p" + token, callNs);
        } else {
            boolean put = random.nextBoolean();
            String value = put ? "p" + token : "a" + token + ";";
            ClientRequest.Kind kind = put ? ClientRequest.Kind.PUT : ClientRequest.Kind.APPEND;
            sim.trace("client %d calls %s(%s, %s)", index, kind, key, value);
            write(new ClientRequest(kind, key, value, 0, 0, 0), r -> {
                String op = put ? "put" : "append";
                Optional<String> output = put ? Optional.empty() : r.value();
                finish(new ClientOp(index, op, key, Optional.of(value), r.ok() ? output : Optional.empty(), callNs, now(),
                        r.ok()));
            });
        }
    }

    /**
     * A put, delete, cas or txn on a "c" key. A compare expects the value this client last saw
     * there (read, written or reported by a failed compare), as a read-modify-write client does,
     * or now and then that the key is absent; a txn deletes the key on success a quarter of the time.
     */
    private void conditionalWrite(String key, String value, long callNs) {
        int which = random.nextInt(4);
        String expected = random.nextInt(5) == 0 ? null : lastSeen.getOrDefault(key, Optional.empty()).orElse(null);
        ClientRequest request = switch (which) {
            case 0 -> new ClientRequest(ClientRequest.Kind.PUT, key, value, 0, 0, 0);
            case 1 -> new ClientRequest(ClientRequest.Kind.DELETE, key, "", 0, 0, 0);
            case 2 -> new ClientRequest(ClientRequest.Kind.CAS, key, value, expected, 0, 0, 0);
            default -> new ClientRequest(ClientRequest.Kind.TXN, key, random.nextInt(4) == 0 ? null : value, expected,
                    0, 0, 0);
        };
        sim.trace("client %d calls %s", index, request);
        write(request, r -> {
            boolean known = r.ok() && (which == 0 || r.value().isPresent() || r.succeeded().isPresent());
            Optional<String> written = Optional.ofNullable(request.value());
            ClientOp op = switch (request.kind()) {
                case PUT -> new ClientOp(index, "put", key, written, Optional.empty(), callNs, now(), r.ok());
                case DELETE -> new ClientOp(index, "delete", key, Optional.empty(), known ? r.value() : Optional.empty(),
                        callNs, now(), known);
                default -> new ClientOp(index, request.kind() == ClientRequest.Kind.CAS ? "cas" : "txn", key, written,
                        known ? r.value() : Optional.empty(), callNs, now(), known, Optional.ofNullable(expected),
                        known ? r.succeeded() : Optional.empty());
            };
            if (known) {
                switch (request.kind()) {
                    case PUT -> lastSeen.put(key, written);
                    case DELETE -> lastSeen.put(key, Optional.empty());
                    default -> lastSeen.put(key, r.succeeded().orElseThrow() ? written : r.value());
                }
            }
            finish(op);
        });
    }

    private long now() {
        return sim.scheduler().nowNs();
    }

    private void finish(ClientOp op) {
        sim.trace("client %d: %s", index, op);
        sim.record(op);
        busy = false;
        sim.scheduler().after(random.nextInt(sim.config().maxThinkMs() + 1), this::nextOperation);
    }

    // ---------------------------------------------------------------- RaftKvClient.write

    private void write(ClientRequest request, Consumer<ClientReply> done) {
        if (!sessions) {
            call(request, resendWithoutSession, done);
            return;
        }
        writeAttempt(request, 0, done);
    }

    private void writeAttempt(ClientRequest request, int attempt, Consumer<ClientReply> done) {
        if (clientId == 0) {
            // A lost registration leaves an unused session behind, which simply expires: safe to retry.
            call(ClientRequest.register(), true, reg -> {
                if (!reg.ok() || reg.clientId() == 0) {
                    done.accept(reg);
                    return;
                }
                clientId = reg.clientId();
                seq = 0;
                sendWrite(request, attempt, done);
            });
        } else {
            sendWrite(request, attempt, done);
        }
    }

    private void sendWrite(ClientRequest request, int attempt, Consumer<ClientReply> done) {
        long s = ++seq;
        Call c = new Call(request.inSession(clientId, s), true, null);
        c.done = r -> {
            if (r.status() == 409 && r.sessionExpired()) {
                if (c.maybeApplied) {
                    // An earlier send of this seq may have been applied before the session went:
                    // sending it again under a new session could apply it twice.
                    clientId = 0;
                    done.accept(ioFailure("the session expired while this write was being resent; the outcome"
                            + " is unknown"));
                    return;
                }
                if (attempt == 0) {
                    clientId = 0; // expired while idle: nothing was applied, start a new session
                    writeAttempt(request, 1, done);
                    return;
                }
            }
            done.accept(r);
        };
        c.attempt();
    }

    // ---------------------------------------------------------------- RaftKvClient.call

    /** One call with its deadline, tried on the nodes in turn. */
    private final class Call {
        final ClientRequest request;
        final boolean idempotent;
        Consumer<ClientReply> done;
        final long deadlineMs;
        /** Some send ended with an unknown outcome: it may have been applied. */
        boolean maybeApplied;
        final List<Integer> order = new ArrayList<>(nodes);
        int i;
        ClientReply last;

        Call(ClientRequest request, boolean idempotent, Consumer<ClientReply> done) {
            this.request = request;
            this.idempotent = idempotent;
            this.done = done;
            this.deadlineMs = sim.scheduler().nowMs() + sim.config().clientTimeoutMs();
            order.remove(Integer.valueOf(preferred));
            order.addFirst(preferred);
        }

        void attempt() {
            if (sim.scheduler().nowMs() >= deadlineMs) {
                done.accept(last != null ? last : new ClientReply(0, Optional.empty(), false, 0, false, false,
                        OptionalInt.empty(), "timed out"));
                return;
            }
            int node = order.get(i++ % order.size());
            Rpc rpc = sim.network().call(endpoint, node, request, new Rpc.Listener() {
                @Override
                public void onReply(ClientReply r) {
                    // RaftKvClient.preferLeader: only an address it was given.
                    r.leader().ifPresent(l -> {
                        if (nodes.contains(l)) preferred = l;
                    });
                    if (r.status() != 503 || !(r.retryable() || idempotent)) {
                        done.accept(r);
                        return;
                    }
                    if (!r.retryable()) maybeApplied = true;
                    last = r;
                    next();
                }

                @Override
                public void onFailure(Rpc.Failure failure) {
                    if (failure == Rpc.Failure.CONNECT_REFUSED) {
                        last = ioFailure("cannot connect to node " + node);
                        next();
                    } else {
                        lost("connection to node " + node + " failed");
                    }
                }
            });
            // HttpClient's request timeout: what is left of the deadline, at most the attempt timeout
            // for a request that may be resent.
            long left = Math.max(1, deadlineMs - sim.scheduler().nowMs());
            sim.scheduler().after(idempotent ? Math.min(left, sim.config().clientAttemptTimeoutMs()) : left, () -> {
                if (rpc.finished()) return;
                rpc.abandon();
                lost("node " + node + " did not answer in time");
            });
        }

        /** Sent, and the connection failed: a read or a write with a seq may be resent, anything else is unknown. */
        private void lost(String why) {
            ClientReply r = ioFailure(why + "; the outcome is unknown");
            if (!idempotent) {
                done.accept(r);
                return;
            }
            maybeApplied = true;
            last = r;
            next();
        }

        private void next() {
            if (i % order.size() == 0) sim.scheduler().after(ROUND_PAUSE_MS, this::attempt);
            else attempt();
        }
    }

    private static ClientReply ioFailure(String why) {
        return new ClientReply(0, Optional.empty(), false, 0, false, false, OptionalInt.empty(), why);
    }

    private void call(ClientRequest request, boolean idempotent, Consumer<ClientReply> done) {
        new Call(request, idempotent, done).attempt();
    }
}
