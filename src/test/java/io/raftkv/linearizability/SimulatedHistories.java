package io.raftkv.linearizability;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

/**
 * Histories of an atomic store, linearizable by construction: each client issues one operation at a
 * time; every operation takes effect at one instant strictly inside its call-return interval (an
 * unknown-outcome write: at an instant after its call, possibly after it timed out, or never), and
 * the outputs are those of the sequential store applied in the order of those instants.
 *
 * <p>Every written value is a unique token {@code [c<client>n<seq>]}, so a value read names the
 * writes that produced it and no state can ever hold a token twice; the mutation properties rely on
 * that. With a {@code alphabet} of n &gt; 0, values are single letters from the first n instead,
 * so that values repeat and coincide, as they may in real histories.
 */
final class SimulatedHistories {

    /**
     * @param unknownRate   the share of operations whose outcome is unknown (ok = false)
     * @param appendRate    the share of writes that are appends (the others are puts)
     * @param getRate       the share of operations that are gets
     * @param unreportedRate the share of acknowledged appends whose new value is not reported
     * @param alphabet       0: every value a unique token; n: values are letters from the first n
     */
    record Shape(int clients, int keys, int operations, double getRate, double appendRate, double unknownRate,
                 double unreportedRate, long maxThinkNs, long maxLatencyNs, int alphabet, double conditionalRate) {
        Shape {
            if (clients < 1 || keys < 1 || operations < 0 || maxLatencyNs < 2 || maxThinkNs < 0 || alphabet < 0
                    || alphabet > 26)
                throw new IllegalArgumentException(toString());
        }

        /** Without deletes and conditional writes. */
        Shape(int clients, int keys, int operations, double getRate, double appendRate, double unknownRate,
              double unreportedRate, long maxThinkNs, long maxLatencyNs, int alphabet) {
            this(clients, keys, operations, getRate, appendRate, unknownRate, unreportedRate, maxThinkNs, maxLatencyNs,
                    alphabet, 0);
        }

        static Shape of(int clients, int keys, int operations) {
            return new Shape(clients, keys, operations, 0.4, 0.5, 0.05, 0.2, 50, 400, 0);
        }

        Shape withUnknownRate(double rate) {
            return new Shape(clients, keys, operations, getRate, appendRate, rate, unreportedRate, maxThinkNs,
                    maxLatencyNs, alphabet, conditionalRate);
        }

        Shape withAppendRate(double rate) {
            return new Shape(clients, keys, operations, getRate, rate, unknownRate, unreportedRate, maxThinkNs,
                    maxLatencyNs, alphabet, conditionalRate);
        }

        /** The share of writes that are deletes, cas or one-key txns (a third each). */
        Shape withConditionalRate(double rate) {
            return new Shape(clients, keys, operations, getRate, appendRate, unknownRate, unreportedRate, maxThinkNs,
                    maxLatencyNs, alphabet, rate);
        }
    }

    /** An operation and the instant it took effect; {@code Long.MAX_VALUE} if it never did. */
    private record Planned(int index, Operation op, boolean ok, long effectNs, long tieBreak) {}

    private SimulatedHistories() {}

    static History generate(Shape shape, long seed) {
        Random rnd = new Random(seed);
        long[] clockNs = new long[shape.clients()];
        int[] seq = new int[shape.clients()];
        List<Planned> planned = new ArrayList<>(shape.operations());
        Map<String, List<String>> written = new HashMap<>();
        for (int i = 0; i < shape.operations(); i++) {
            int client = 0; // the client that is free first issues the next operation
            for (int c = 1; c < shape.clients(); c++) if (clockNs[c] < clockNs[client]) client = c;
            long callNs = clockNs[client] + (shape.maxThinkNs() == 0 ? 0 : rnd.nextLong(shape.maxThinkNs() + 1));
            long returnNs = callNs + 2 + rnd.nextLong(shape.maxLatencyNs() - 1);
            clockNs[client] = returnNs;
            String key = "k" + rnd.nextInt(shape.keys());
            String token = shape.alphabet() == 0 ? "[c" + client + "n" + seq[client]++ + "]"
                    : String.valueOf((char) ('a' + rnd.nextInt(shape.alphabet())));
            Operation.Kind kind = rnd.nextDouble() < shape.getRate() ? Operation.Kind.GET
                    : rnd.nextDouble() < shape.conditionalRate()
                    ? List.of(Operation.Kind.DELETE, Operation.Kind.CAS, Operation.Kind.TXN).get(rnd.nextInt(3))
                    : rnd.nextDouble() < shape.appendRate() ? Operation.Kind.APPEND : Operation.Kind.PUT;
            boolean ok = rnd.nextDouble() >= shape.unknownRate();
            Optional<String> value = switch (kind) {
                case GET, DELETE -> Optional.empty();
                case TXN -> rnd.nextInt(4) == 0 ? Optional.empty() : Optional.of(token); // a txn may delete
                default -> Optional.of(token);
            };
            Optional<String> expected = Optional.empty();
            if (kind == Operation.Kind.CAS || kind == Operation.Kind.TXN) {
                // compare with a recent value of the key (often still there), or with "absent"
                List<String> recent = written.computeIfAbsent(key, k -> new ArrayList<>());
                if (!recent.isEmpty() && rnd.nextInt(4) != 0)
                    expected = Optional.of(recent.get(Math.max(0, recent.size() - 1 - rnd.nextInt(3))));
            }
            value.ifPresent(v -> written.computeIfAbsent(key, k -> new ArrayList<>()).add(v));
            // outcome not known until the store runs: recorded as unknown for now
            Operation op = new Operation(client, kind, key, value, Optional.empty(), callNs, returnNs, false, expected,
                    Optional.empty());

            long effectNs;
            if (ok) {
                effectNs = callNs + 1 + rnd.nextLong(returnNs - callNs - 1); // strictly inside (call, return)
            } else if (kind == Operation.Kind.GET || rnd.nextBoolean()) {
                effectNs = Long.MAX_VALUE; // lost (a get of unknown outcome has no effect to speak of)
            } else {
                effectNs = callNs + 1 + rnd.nextLong(6 * shape.maxLatencyNs()); // maybe long after the timeout
            }
            planned.add(new Planned(i, op, ok, effectNs, rnd.nextLong()));
        }

        // run the sequential store in effect order to fill in the outputs
        List<Planned> byEffect = new ArrayList<>(planned);
        byEffect.sort(Comparator.comparingLong(Planned::effectNs).thenComparingLong(Planned::tieBreak));
        Map<String, String> store = new HashMap<>();
        Operation[] completed = new Operation[planned.size()];
        for (Planned p : byEffect) {
            Operation op = p.op();
            Optional<String> output = Optional.empty();
            Optional<Boolean> succeeded = Optional.empty();
            if (p.effectNs() != Long.MAX_VALUE) {
                switch (op.kind()) {
                    case PUT -> {
                        store.put(op.key(), op.value().orElseThrow());
                        output = Optional.of("ok");
                    }
                    case APPEND -> {
                        String after = store.getOrDefault(op.key(), "") + op.value().orElseThrow();
                        store.put(op.key(), after);
                        if (rnd.nextDouble() >= shape.unreportedRate()) output = Optional.of(after);
                    }
                    case GET -> output = Optional.ofNullable(store.get(op.key()));
                    case DELETE -> output = Optional.of(store.remove(op.key()) != null ? "1" : "0");
                    case CAS, TXN -> {
                        String before = store.get(op.key());
                        boolean matches = Optional.ofNullable(before).equals(op.expected());
                        succeeded = Optional.of(matches);
                        if (!matches) output = Optional.ofNullable(before);
                        else if (op.value().isPresent()) store.put(op.key(), op.value().get());
                        else store.remove(op.key());
                    }
                }
            }
            completed[p.index()] = !p.ok() ? op : new Operation(op.client(), op.kind(), op.key(), op.value(), output,
                    op.callNs(), op.returnNs(), true, op.expected(), succeeded);
        }
        List<Operation> ops = new ArrayList<>(List.of(completed));
        Collections.shuffle(ops, rnd); // the checker must not rely on the order of the input
        return History.of(ops);
    }
}
