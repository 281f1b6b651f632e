package io.raftkv.mutation;

import io.raftkv.raft.Message;
import io.raftkv.raft.Ready;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The mutant world sees the mutated method; the normal world and the other methods are untouched. */
class MutantLoaderTest {
    private static final Message VOTE = new Message.RequestVoteResponse(2, 1, 5, true);

    @Test
    void onlyTheMutantWorldSeesTheMutatedMethod() throws Exception {
        Ready normal = new Ready(Optional.empty(), List.of(), List.of(), List.of(), List.of(), Optional.empty(),
                List.of(), 5);
        assertThat(normal.mayLeaveBeforePersist(VOTE)).isFalse();

        Class<?> mutantReady = new MutantLoader(Ready.class.getName(), "mayLeaveBeforePersist", true)
                .load(Ready.class.getName());
        assertThat(mutantReady).isNotSameAs(Ready.class);
        Class<?> mutantMessage = mutantReady.getClassLoader().loadClass(Message.class.getName());
        Class<?> mutantVote = mutantReady.getClassLoader().loadClass(Message.RequestVoteResponse.class.getName());
        Object vote = mutantVote.getConstructor(int.class, int.class, long.class, boolean.class).newInstance(2, 1, 5L, true);
        Object ready = mutantReady.getConstructor(Optional.class, List.class, List.class, List.class, List.class,
                Optional.class, List.class, long.class).newInstance(Optional.empty(), List.of(), List.of(), List.of(),
                List.of(), Optional.empty(), List.of(), 5L);
        assertThat(mutantReady.getMethod("mayLeaveBeforePersist", mutantMessage).invoke(ready, vote)).isEqualTo(true);
        assertThat(mutantReady.getMethod("isEmpty").invoke(ready)).as("other methods keep their code").isEqualTo(true);
    }

    @Test
    void aMethodThatIsNotThereIsAnError() {
        assertThatThrownBy(() -> new MutantLoader(Ready.class.getName(), "noSuchMethod", true).load(Ready.class.getName()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("noSuchMethod");
    }
}
