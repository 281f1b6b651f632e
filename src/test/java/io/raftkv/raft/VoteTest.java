package io.raftkv.raft;

import io.raftkv.raft.Message.RequestVote;
import io.raftkv.raft.Message.RequestVoteResponse;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Granting votes (Raft §5.2 one vote per term, §5.4.1 election restriction), driven on one node. */
class VoteTest {
    static final List<Integer> VOTERS = List.of(1, 2, 3, 4, 5);

    /** Node 1 in {@code term} without a vote, holding one entry per given term. */
    static RaftNode voter(long term, long... logTerms) {
        List<Entry> log = new ArrayList<>();
        for (int i = 0; i < logTerms.length; i++) log.add(new Entry(i + 1, logTerms[i], TestCluster.payload(i + 1, logTerms[i])));
        return new RaftNode(RaftConfig.defaults(1, VOTERS, 42), new HardState(term, RaftNode.NONE, 0), log);
    }

    /** Takes and acknowledges one Ready, returning it. */
    static Ready drain(RaftNode n) {
        Ready rd = n.ready();
        n.advance(rd);
        return rd;
    }

    /** Steps a vote request from {@code candidate} and returns whether it was granted. */
    static boolean ask(RaftNode n, int candidate, long term, long lastIndex, long lastTerm) {
        n.step(new RequestVote(candidate, 1, term, lastIndex, lastTerm));
        Ready rd = drain(n);
        assertThat(rd.messages()).hasSize(1);
        RequestVoteResponse r = (RequestVoteResponse) rd.messages().getFirst();
        assertThat(r.to()).isEqualTo(candidate);
        assertThat(r.term()).isEqualTo(n.term());
        return r.granted();
    }

    @Test
    @DisplayName("§5.2: at most one vote per term, first come first served; a retransmitted request is granted again")
    void oneVotePerTerm() {
        RaftNode n = voter(1);
        assertThat(ask(n, 2, 2, 0, 0)).isTrue();
        assertThat(n.votedFor()).isEqualTo(2);
        assertThat(ask(n, 3, 2, 0, 0)).as("second candidate in term 2").isFalse();
        assertThat(ask(n, 2, 2, 0, 0)).as("same candidate again").isTrue();
        assertThat(n.votedFor()).isEqualTo(2);
        assertThat(ask(n, 3, 3, 0, 0)).as("a new term, a new vote").isTrue();
        assertThat(n.votedFor()).isEqualTo(3);
        assertThat(n.term()).isEqualTo(3);
    }

    @ParameterizedTest(name = "voter log terms [1,1,2]; candidate last (index {0}, term {1}) -> granted {2}")
    @CsvSource({
            "3, 2, true",   // identical last entry
            "4, 2, true",   // same last term, longer
            "2, 2, false",  // same last term, shorter: lastIndex case
            "9, 1, false",  // longer but older last term: lastTerm case
            "3, 1, false",  // same length, older last term
            "1, 3, true",   // shorter but newer last term
            "0, 0, false",  // empty log
    })
    @DisplayName("§5.4.1: no vote for a candidate whose log is less up to date")
    void electionRestriction(long lastIndex, long lastTerm, boolean granted) {
        RaftNode n = voter(2, 1, 1, 2);
        assertThat(ask(n, 2, 3, lastIndex, lastTerm)).isEqualTo(granted);
        // The term is adopted either way, the vote only when granted.
        assertThat(n.term()).isEqualTo(3);
        assertThat(n.votedFor()).isEqualTo(granted ? 2 : RaftNode.NONE);
    }

    @Test
    @DisplayName("§5.4.1: a refused vote leaves the voter free to vote for an up-to-date candidate in that term")
    void refusedVoteIsNotCast() {
        RaftNode n = voter(1, 1, 1);
        assertThat(ask(n, 2, 2, 1, 1)).isFalse();
        assertThat(ask(n, 3, 2, 2, 1)).isTrue();
        assertThat(n.votedFor()).isEqualTo(3);
    }

    @Test
    @DisplayName("§5.2: a candidate has voted for itself and refuses other candidates of its term")
    void candidateRefusesOthersInItsTerm() {
        RaftNode n = voter(1);
        n.campaign("test");
        drain(n);
        assertThat(n.term()).isEqualTo(2);
        assertThat(ask(n, 2, 2, 5, 5)).isFalse();
        assertThat(n.role()).isEqualTo(Role.CANDIDATE);
        assertThat(n.votedFor()).isEqualTo(1);
    }

    @Test
    @DisplayName("§5.2: a candidate counts each voter once")
    void duplicateGrantsCountOnce() {
        RaftNode n = voter(1);
        n.campaign("test");
        drain(n);
        for (int i = 0; i < 3; i++) n.step(new RequestVoteResponse(2, 1, 2, true));
        assertThat(n.role()).as("2 distinct votes of 5").isEqualTo(Role.CANDIDATE);
        n.step(new RequestVoteResponse(3, 1, 2, true));
        assertThat(n.role()).isEqualTo(Role.LEADER);
    }

    @Test
    @DisplayName("§5.2: granting a vote restarts the voter's election timer")
    void grantingResetsElectionTimer() {
        RaftNode n = voter(2);
        int ticksAlone = 0;
        RaftNode probe = voter(2);
        while (probe.role() == Role.FOLLOWER) {
            assertThat(ticksAlone).isLessThan(100);
            probe.tick();
            ticksAlone++;
        }
        // Same seed, same timeout; a vote granted (in the current term, so no term change resets
        // the timer) just before expiry pushes the election back.
        for (int i = 0; i < ticksAlone - 1; i++) n.tick();
        assertThat(ask(n, 2, 2, 0, 0)).isTrue();
        for (int i = 0; i < 29; i++) n.tick();
        assertThat(n.role()).isEqualTo(Role.FOLLOWER);
    }

    @Test
    @DisplayName("§5.2: a vote response from an old term is ignored")
    void staleVoteResponseIgnored() {
        RaftNode n = voter(4);
        n.campaign("test");
        drain(n);
        for (int from = 2; from <= 5; from++) n.step(new RequestVoteResponse(from, 1, 3, true));
        assertThat(n.role()).isEqualTo(Role.CANDIDATE);
        assertThat(n.term()).isEqualTo(5);
    }
}
