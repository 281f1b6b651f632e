package io.raftkv.linearizability;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks a {@link CheckResult.Linearizable} witness against its history without trusting the
 * checker: each key's order must hold every known-outcome operation once, unknown-outcome writes at
 * most once, nothing else, respect real time, and replay on the store to the recorded outputs.
 */
final class Witnesses {

    private Witnesses() {}

    /** What is wrong with the witness; empty when it proves the history linearizable. */
    static List<String> problems(History history, CheckResult.Linearizable result) {
        List<String> problems = new ArrayList<>();
        Map<String, List<Operation>> parts = history.byKey();
        for (String key : result.order().keySet())
            if (!parts.containsKey(key)) problems.add("witness has key " + key + " the history lacks");
        parts.forEach((key, ops) -> {
            List<Operation> order = result.order().getOrDefault(key, List.of());
            Map<Operation, Integer> expected = new HashMap<>();
            for (Operation op : ops) expected.merge(op, 1, Integer::sum);
            Map<Operation, Integer> seen = new HashMap<>();
            for (Operation op : order) seen.merge(op, 1, Integer::sum);
            seen.forEach((op, n) -> {
                if (n > expected.getOrDefault(op, 0)) problems.add(key + ": " + op + " placed " + n + " times");
                if (op.kind() == Operation.Kind.GET && !op.ok()) problems.add(key + ": unknown get placed: " + op);
            });
            expected.forEach((op, n) -> {
                if (op.ok() && seen.getOrDefault(op, 0) < n) problems.add(key + ": " + op + " missing");
            });
            for (int i = 0; i < order.size(); i++)
                for (int j = i + 1; j < order.size(); j++)
                    if (order.get(j).ok() && order.get(j).returnNs() < order.get(i).callNs())
                        problems.add(key + ": " + order.get(j) + " returned before " + order.get(i) + " was called");
            if (!BruteForce.replays(order)) problems.add(key + ": outputs do not replay in order " + order);
        });
        return problems;
    }
}
