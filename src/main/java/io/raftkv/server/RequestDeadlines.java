package io.raftkv.server;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.FastThreadLocal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The deadlines of the requests a client event loop is waiting on, checked by one sweep every
 * {@link #SWEEP_MS} instead of a timer per request. A Netty timer costs an insert into the loop's
 * priority queue and, since most requests are answered on the node's loop, a cancel from that other
 * thread, which is a task (and often a wake-up) for the client loop again: the last profile of
 * issue 14 found those timers at 5% of a leader's Java time. A deadline here is one entry in a list
 * that the sweep drops once its request is answered; a deadline is met at most {@link #SWEEP_MS}
 * late, which is nothing next to request timeouts of seconds.
 *
 * <p>One instance per client loop, confined to that loop's thread; {@link #watch} may be called from
 * any thread (it hops to the loop). The sweep runs only while something is waiting.
 */
final class RequestDeadlines {
    /** How often waiting requests are checked, and so how late a deadline may be met. */
    static final long SWEEP_MS = 10;

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RequestDeadlines.class);
    private static final FastThreadLocal<RequestDeadlines> PER_LOOP = new FastThreadLocal<>();

    /** {@code onExpiry} runs on the loop at {@code deadlineNs} unless {@code answered} is done by then. */
    private record Waiting(long deadlineNs, CompletableFuture<?> answered, Runnable onExpiry) {}

    private final EventExecutor loop;
    private final ArrayList<Waiting> waiting = new ArrayList<>();
    private boolean sweepScheduled;

    private RequestDeadlines(EventExecutor loop) {
        this.loop = loop;
    }

    /**
     * Runs {@code onExpiry} on {@code loop} once {@link System#nanoTime()} reaches {@code deadlineNs}
     * (at most {@link #SWEEP_MS} later), unless {@code answered} is done by then.
     */
    static void watch(EventExecutor loop, long deadlineNs, CompletableFuture<?> answered, Runnable onExpiry) {
        if (answered.isDone()) return;
        if (!loop.inEventLoop()) {
            loop.execute(() -> watch(loop, deadlineNs, answered, onExpiry));
            return;
        }
        RequestDeadlines d = PER_LOOP.get();
        if (d == null || d.loop != loop) {
            d = new RequestDeadlines(loop);
            PER_LOOP.set(d);
        }
        d.add(new Waiting(deadlineNs, answered, onExpiry));
    }

    /** {@code f}, failed with a {@link java.util.concurrent.TimeoutException} at {@code deadlineNs} if not done by then. */
    static <T> CompletableFuture<T> failAt(EventExecutor loop, long deadlineNs, CompletableFuture<T> f) {
        watch(loop, deadlineNs, f, () -> f.completeExceptionally(new java.util.concurrent.TimeoutException()));
        return f;
    }

    /** Waiting deadlines on the calling loop's instance (tests). */
    static int waitingOnThisLoop() {
        RequestDeadlines d = PER_LOOP.getIfExists();
        return d == null ? 0 : d.waiting.size();
    }

    private void add(Waiting w) {
        waiting.add(w);
        scheduleSweep();
    }

    private void scheduleSweep() {
        if (sweepScheduled || waiting.isEmpty()) return;
        sweepScheduled = true;
        loop.schedule(this::sweep, SWEEP_MS, TimeUnit.MILLISECONDS);
    }

    private void sweep() {
        sweepScheduled = false;
        long now = System.nanoTime();
        List<Waiting> expired = null;
        int kept = 0;
        for (int i = 0, n = waiting.size(); i < n; i++) {
            Waiting w = waiting.get(i);
            if (w.answered.isDone()) continue;
            if (now - w.deadlineNs >= 0) {
                if (expired == null) expired = new ArrayList<>();
                expired.add(w);
                continue;
            }
            waiting.set(kept++, w);
        }
        waiting.subList(kept, waiting.size()).clear();
        // After the list is consistent: an expiry may wait on something new (a retry) through watch().
        if (expired != null) {
            for (Waiting w : expired) {
                try {
                    if (!w.answered.isDone()) w.onExpiry.run();
                } catch (RuntimeException e) {
                    LOG.warn("a request's deadline handler failed", e);
                }
            }
        }
        scheduleSweep();
    }
}
