package io.raftkv.server;

import io.netty.channel.DefaultEventLoop;
import io.netty.util.concurrent.EventExecutor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RequestDeadlinesTest {
    private final DefaultEventLoop loop = new DefaultEventLoop();

    @AfterEach
    void stop() {
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static long inMs(long ms) {
        return System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
    }

    private int waiting() throws Exception {
        return loop.submit(RequestDeadlines::waitingOnThisLoop).get(5, TimeUnit.SECONDS);
    }

    /** Polls {@code condition} on the loop until it holds, for at most 5 s. */
    private void awaitOnLoop(java.util.concurrent.Callable<Boolean> condition) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!loop.submit(condition).get(5, TimeUnit.SECONDS)) {
            assertThat(System.nanoTime()).as("condition still false after 5 s").isLessThan(end);
            Thread.onSpinWait();
        }
    }

    @Test
    void aFutureStillWaitingAtItsDeadlineFailsWithTimeout() throws Exception {
        CompletableFuture<String> f = new CompletableFuture<>();
        long start = System.nanoTime();
        RequestDeadlines.failAt(loop, inMs(30), f);
        assertThatThrownBy(() -> f.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(TimeoutException.class);
        assertThat(System.nanoTime() - start).as("not before its deadline").isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(30));
        awaitOnLoop(() -> RequestDeadlines.waitingOnThisLoop() == 0);
    }

    @Test
    void anAnsweredRequestIsDroppedAndItsExpiryNeverRuns() throws Exception {
        AtomicInteger expiries = new AtomicInteger();
        CompletableFuture<String> answered = new CompletableFuture<>();
        CompletableFuture<String> unanswered = new CompletableFuture<>();
        RequestDeadlines.watch(loop, inMs(500), answered, expiries::incrementAndGet);
        RequestDeadlines.watch(loop, inMs(500), unanswered, () -> unanswered.complete("expired"));
        assertThat(waiting()).isEqualTo(2);
        answered.complete("answered before its deadline");
        assertThat(unanswered.get(5, TimeUnit.SECONDS)).isEqualTo("expired");
        awaitOnLoop(() -> RequestDeadlines.waitingOnThisLoop() == 0);
        assertThat(expiries.get()).isZero();
    }

    @Test
    void aLaterRequestWithAnEarlierDeadlineIsNotHeldBehindALongOne() throws Exception {
        CompletableFuture<String> longOne = new CompletableFuture<>();
        CompletableFuture<String> shortOne = new CompletableFuture<>();
        RequestDeadlines.failAt(loop, inMs(60_000), longOne);
        RequestDeadlines.failAt(loop, inMs(20), shortOne);
        assertThatThrownBy(() -> shortOne.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(TimeoutException.class);
        assertThat(longOne).isNotDone();
        assertThat(waiting()).isEqualTo(1);
        longOne.complete("done");
        awaitOnLoop(() -> RequestDeadlines.waitingOnThisLoop() == 0);
    }

    @Test
    void anExpiryMayWaitAgainAndOneThatFailsDoesNotStopTheOthers() throws Exception {
        CompletableFuture<String> request = new CompletableFuture<>();
        List<String> seen = new CopyOnWriteArrayList<>();
        CompletableFuture<String> other = new CompletableFuture<>();
        // A watch that checks again once (as a forwarded request's leader watch does), then gives up.
        RequestDeadlines.watch(loop, inMs(10), request, () -> {
            seen.add("first check");
            RequestDeadlines.watch(loop, inMs(10), request, () -> request.complete("second check"));
        });
        RequestDeadlines.watch(loop, inMs(10), new CompletableFuture<>(), () -> {
            throw new IllegalStateException("a handler that fails (logged)");
        });
        RequestDeadlines.watch(loop, inMs(10), other, () -> other.complete("still expired"));
        assertThat(request.get(5, TimeUnit.SECONDS)).isEqualTo("second check");
        assertThat(other.get(5, TimeUnit.SECONDS)).isEqualTo("still expired");
        assertThat(seen).containsExactly("first check");
        awaitOnLoop(() -> RequestDeadlines.waitingOnThisLoop() == 0);
    }

    @Test
    void aWatchFromAnotherThreadRunsOnTheLoop() throws Exception {
        CompletableFuture<Boolean> onLoop = new CompletableFuture<>();
        EventExecutor executor = loop;
        RequestDeadlines.watch(executor, inMs(5), new CompletableFuture<>(), () -> onLoop.complete(executor.inEventLoop()));
        assertThat(onLoop.get(5, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void anAlreadyAnsweredFutureIsNotWatched() throws Exception {
        RequestDeadlines.failAt(loop, inMs(10), CompletableFuture.completedFuture("answered"));
        assertThat(waiting()).isZero();
    }
}
