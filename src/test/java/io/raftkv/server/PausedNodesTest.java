package io.raftkv.server;

import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Real nodes whose loops all stop for a second at once, as a long GC pause or a descheduled VM
 * stops them: on resuming, a node's logical clock must not run the ticks it missed back to back
 * (Go's ticker, which etcd's nodes tick from, drops them too). Run back to back, those ticks time
 * out every election timer and the leader's check-quorum before a single heartbeat (or its answer,
 * still in the sockets) is read, and a healthy cluster elects a new leader.
 */
class PausedNodesTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void nodesPausedTogetherResumeUnderTheSameLeaderAndTerm() throws InterruptedException {
        Set<Integer> all = Set.of(0, 1, 2);
        try (TestNodes nodes = new TestNodes(3).startAll(); RaftKvClient client = nodes.client(WAIT)) {
            int leader = nodes.awaitLeader(all, WAIT);
            KvResult before = client.put("k", "before");
            assertThat(before.ok()).as("%s", before.body()).isTrue();
            long term = nodes.node(leader).status().term();
            TestNodes.awaitCondition(() -> all.stream().allMatch(i -> nodes.node(i).status().term() == term
                    && nodes.node(i).status().leaderId() == leader), WAIT, "every node to follow " + leader + " in term " + term);

            // Three times the longest election timeout (500 ms here would do; a second leaves no doubt).
            long resumeAt = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            CountDownLatch paused = new CountDownLatch(all.size());
            for (int i : all) {
                nodes.node(i).submit(() -> {
                    paused.countDown();
                    for (long left; (left = resumeAt - System.nanoTime()) > 0; ) LockSupport.parkNanos(left);
                });
            }
            assertThat(paused.await(WAIT.toSeconds(), TimeUnit.SECONDS)).as("every node loop paused").isTrue();

            // The first write after the pause commits in the same term, under the same leader.
            KvResult after = client.put("k", "after");
            assertThat(after.ok()).as("%s", after.body()).isTrue();
            for (int i : all) {
                assertThat(nodes.node(i).status().term()).as("node %d's term after the pause", i).isEqualTo(term);
            }
            assertThat(nodes.node(leader).status().role()).isEqualToIgnoringCase("leader");
        }
    }
}
