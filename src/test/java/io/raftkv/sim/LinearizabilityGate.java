package io.raftkv.sim;

import io.raftkv.linearizability.CheckResult;
import io.raftkv.linearizability.History;
import io.raftkv.linearizability.LinearizabilityChecker;
import io.raftkv.linearizability.Operation;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The one place the simulation meets {@link LinearizabilityChecker}: converts the recorded
 * {@link ClientOp}s into its {@link History} and maps the verdict. The checker's budget is wall
 * time, so a history too hard to decide in time is UNKNOWN (reported, never a failure); the
 * simulation itself stays deterministic.
 */
final class LinearizabilityGate {
    enum Verdict { LINEARIZABLE, NOT_LINEARIZABLE, UNKNOWN, NOT_CHECKED }

    record Result(Verdict verdict, String explanation) {}

    private LinearizabilityGate() {}

    static Result check(List<ClientOp> history, Duration budget) {
        CheckResult r = LinearizabilityChecker.check(toHistory(history), budget);
        Verdict v = switch (r.verdict()) {
            case LINEARIZABLE -> Verdict.LINEARIZABLE;
            case NOT_LINEARIZABLE -> Verdict.NOT_LINEARIZABLE;
            case UNKNOWN -> Verdict.UNKNOWN;
        };
        return new Result(v, r.explanation());
    }

    static History toHistory(List<ClientOp> ops) {
        return History.of(ops.stream().map(LinearizabilityGate::toOperation).toList());
    }

    static Operation toOperation(ClientOp op) {
        Operation.Kind kind = Operation.Kind.fromJsonName(op.op());
        // A put's output is carried but never checked; "ok" as Operation.put records it.
        Optional<String> output = op.ok() && kind == Operation.Kind.PUT ? Optional.of("ok") : op.output();
        return new Operation(op.client(), kind, op.key(), op.value(), op.ok() ? output : Optional.empty(), op.callNs(),
                op.returnNs(), op.ok(), op.expected(), op.ok() ? op.succeeded() : Optional.empty());
    }
}
