package io.raftkv.raft;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The log helpers behind the election restriction and the conflict hints. */
class RaftLogTest {

    static RaftLog log(long commit, long... terms) {
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < terms.length; i++) entries.add(new Entry(i + 1, terms[i], TestCluster.payload(i + 1, terms[i])));
        return new RaftLog(entries, commit);
    }

    @Test
    @DisplayName("§5.3 conflict hint: first index of the term at an index, last index of a term at or below an index")
    void conflictHintLookups() {
        RaftLog l = log(0, 1, 1, 1, 4, 4, 5, 5, 6, 6, 6);
        assertThat(l.firstIndexOfTermAt(10)).isEqualTo(8);
        assertThat(l.firstIndexOfTermAt(5)).isEqualTo(4);
        assertThat(l.firstIndexOfTermAt(2)).isEqualTo(1);
        assertThat(l.lastIndexOfTerm(4, 10)).isEqualTo(5);
        assertThat(l.lastIndexOfTerm(6, 9)).isEqualTo(9);
        assertThat(l.lastIndexOfTerm(4, 4)).isEqualTo(4);
        assertThat(l.lastIndexOfTerm(3, 10)).as("a term the log skipped").isEqualTo(0);
        assertThat(l.lastIndexOfTerm(7, 10)).as("a term the log never had").isEqualTo(0);
        assertThat(l.lastIndexOfTerm(6, 99)).isEqualTo(10);
    }

    @Test
    @DisplayName("§5.4.1: up to date means a later last term, or the same last term and at least as long")
    void upToDate() {
        RaftLog l = log(0, 1, 2, 2);
        assertThat(l.isUpToDate(3, 2)).isTrue();
        assertThat(l.isUpToDate(4, 2)).isTrue();
        assertThat(l.isUpToDate(2, 2)).isFalse();
        assertThat(l.isUpToDate(1, 3)).isTrue();
        assertThat(l.isUpToDate(10, 1)).isFalse();
        assertThat(log(0).isUpToDate(0, 0)).isTrue();
    }

    @Test
    @DisplayName("§5.4: committed entries are never truncated")
    void committedEntriesAreNeverTruncated() {
        RaftLog l = log(2, 1, 1, 1, 1);
        assertThatThrownBy(() -> l.truncateFrom(2)).isInstanceOf(IllegalStateException.class);
        l.truncateFrom(3);
        assertThat(l.lastIndex()).isEqualTo(2);
    }

    @Test
    @DisplayName("Ready contract: truncation makes the replaced entries unstable again; stale stableTo is ignored")
    void stabilityAcrossTruncation() {
        RaftLog l = log(0, 1, 1, 1);
        assertThat(l.stableIndex()).isEqualTo(3);
        l.truncateFrom(2);
        l.append(new Entry(2, 2, TestCluster.payload(2, 2)));
        assertThat(l.stableIndex()).isEqualTo(1);
        assertThat(l.unstableEntries()).extracting(Entry::index).containsExactly(2L);
        l.stableTo(3, 1); // from a Ready taken before the truncation
        assertThat(l.stableIndex()).isEqualTo(1);
        l.stableTo(2, 2);
        assertThat(l.stableIndex()).isEqualTo(2);
        assertThat(l.unstableEntries()).isEmpty();
    }

    @Test
    @DisplayName("applied <= committed <= lastIndex")
    void cursorInvariants() {
        RaftLog l = log(0, 1, 1);
        assertThatThrownBy(() -> l.commitTo(3)).isInstanceOf(IllegalStateException.class);
        l.commitTo(2);
        l.commitTo(1);
        assertThat(l.committed()).as("commit never moves back").isEqualTo(2);
        assertThatThrownBy(() -> l.appliedTo(3)).isInstanceOf(IllegalStateException.class);
        l.appliedTo(2);
        assertThatThrownBy(() -> l.appliedTo(1)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> log(3, 1, 1)).isInstanceOf(IllegalStateException.class);
    }
}
