package io.raftkv.raft;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

import java.util.List;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The configuration's encoding (thesis §4.1: it travels in log entries and snapshots) and its quorum arithmetic. */
class ConfigurationProperties {
    @Provide
    Arbitrary<Configuration> configurations() {
        Arbitrary<Integer> id = Arbitraries.integers().between(-3, 50).filter(i -> i != RaftNode.NONE);
        Arbitrary<String> address = Arbitraries.strings().ofMaxLength(12);
        return Combinators.combine(Arbitraries.maps(id, address).ofMaxSize(6), Arbitraries.maps(id, address).ofMaxSize(4))
                .as((v, l) -> {
                    TreeMap<Integer, String> learners = new TreeMap<>(l);
                    learners.keySet().removeAll(v.keySet());
                    return new Configuration(new TreeMap<>(v), learners);
                });
    }

    @Property
    void encodingRoundTrips(@ForAll("configurations") Configuration c) {
        assertThat(Configuration.decode(c.encode())).isEqualTo(c);
    }

    @Property(tries = 3000)
    void decodingIsTotalAndCanonical(@ForAll @Size(max = 60) byte[] bytes) {
        Configuration c;
        try {
            c = Configuration.decode(bytes);
        } catch (IllegalArgumentException e) {
            assertThat(e.getMessage()).startsWith("configuration: ");
            return;
        }
        assertThat(c.encode()).isEqualTo(bytes);
    }

    @Property
    @net.jqwik.api.Label("§4.2.1: learners and non-members never make a quorum; a majority of the voters always does")
    void onlyVotersMakeAQuorum(@ForAll("configurations") Configuration c) {
        List<Integer> voters = List.copyOf(c.voters().keySet());
        List<Integer> others = new java.util.ArrayList<>(c.learners().keySet());
        others.add(9999);
        assertThat(c.hasQuorum(others)).isFalse();
        if (!voters.isEmpty()) {
            List<Integer> majority = voters.subList(0, Quorum.majority(voters.size()));
            List<Integer> withOthers = new java.util.ArrayList<>(majority);
            withOthers.addAll(others);
            assertThat(c.hasQuorum(majority)).isTrue();
            assertThat(c.hasQuorum(voters.subList(0, Quorum.majority(voters.size()) - 1))).isFalse();
            assertThat(c.hasQuorum(withOthers.subList(0, withOthers.size()))).isTrue();
            List<Integer> minorityWithOthers = new java.util.ArrayList<>(voters.subList(0, Quorum.majority(voters.size()) - 1));
            minorityWithOthers.addAll(others);
            assertThat(c.hasQuorum(minorityWithOthers)).isFalse();
        }
    }

    @Property
    void aChangeDoesWhatItSays(@ForAll("configurations") Configuration c, @ForAll("ids") int id) {
        var add = new ConfChange.AddLearner(id, "addr-" + id);
        if (c.refusal(add).isEmpty()) {
            Configuration next = c.apply(add);
            assertThat(next.isLearner(id)).isTrue();
            assertThat(next.apply(new ConfChange.Promote(id)).isVoter(id)).isTrue();
            assertThat(next.apply(new ConfChange.Remove(id))).isEqualTo(c);
        } else {
            assertThatThrownBy(() -> c.apply(add)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Provide
    Arbitrary<Integer> ids() {
        return Arbitraries.integers().between(0, 60);
    }
}
