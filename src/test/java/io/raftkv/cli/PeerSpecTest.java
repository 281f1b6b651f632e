package io.raftkv.cli;

import io.raftkv.transport.HostPort;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/** How {@code -peers} maps to node ids, and what it refuses. */
class PeerSpecTest {
    private static HostPort hp(String s) {
        return HostPort.parse(s);
    }

    private static Map<Integer, HostPort> peers(Object... idAndAddress) {
        Map<Integer, HostPort> m = new TreeMap<>();
        for (int i = 0; i < idAndAddress.length; i += 2) m.put((Integer) idAndAddress[i], hp((String) idAndAddress[i + 1]));
        return m;
    }

    static Stream<Arguments> validSpecs() {
        return Stream.of(
                // the report's three command lines: ports 8000, 8001, 8002 are ids 0, 1, 2 on every node
                arguments("localhost:8001,localhost:8002", 0, "localhost:8000",
                        peers(1, "localhost:8001", 2, "localhost:8002")),
                arguments("localhost:8000,localhost:8002", 1, "localhost:8001",
                        peers(0, "localhost:8000", 2, "localhost:8002")),
                arguments("localhost:8000,localhost:8001", 2, "localhost:8002",
                        peers(0, "localhost:8000", 1, "localhost:8001")),
                // order in the list does not matter, only the sorted position
                arguments("localhost:8002,localhost:8000", 1, "localhost:8001",
                        peers(0, "localhost:8000", 2, "localhost:8002")),
                // ports compare as numbers: 9000 < 10000 although "10000" < "9000" as text
                arguments("localhost:10000", 0, "localhost:9000", peers(1, "localhost:10000")),
                arguments("localhost:9000", 1, "localhost:10000", peers(0, "localhost:9000")),
                arguments("localhost:10000,localhost:9999", 0, "localhost:900",
                        peers(1, "localhost:9999", 2, "localhost:10000")),
                // hosts first, then ports
                arguments("b:1000,a:9000", 2, "b:2000", peers(0, "a:9000", 1, "b:1000")),
                // spaces around items are tolerated
                arguments(" localhost:8001 , localhost:8002 ", 0, "localhost:8000",
                        peers(1, "localhost:8001", 2, "localhost:8002")),
                // explicit form: ids as given, any order, gaps allowed
                arguments("1=localhost:8001,2=localhost:8002", 0, "localhost:8000",
                        peers(1, "localhost:8001", 2, "localhost:8002")),
                arguments("7=h:2,3=h:1", 5, "h:9", peers(3, "h:1", 7, "h:2")),
                arguments("0=localhost:9000, 2 = localhost:10000", 1, "localhost:8000",
                        peers(0, "localhost:9000", 2, "localhost:10000")),
                // no peers: a single-node cluster
                arguments("", 0, "localhost:8000", Map.of()),
                arguments("  ", 3, "localhost:8000", Map.of()),
                arguments(null, 0, "localhost:8000", Map.of()));
    }

    @ParameterizedTest(name = "-id {1} self {2} -peers \"{0}\" -> {3}")
    @MethodSource("validSpecs")
    void mapsAddressesToIds(String spec, int selfId, String self, Map<Integer, HostPort> expected) {
        assertThat(PeerSpec.parse(spec, selfId, hp(self))).isEqualTo(expected);
    }

    static Stream<Arguments> badSpecs() {
        return Stream.of(
                arguments("localhost:8001,localhost:8002", 1, "localhost:8000",
                        List.of("-id 1 does not match", "localhost:8000 is id 0", "use -id 0", "1=host:port")),
                arguments("localhost:8000,localhost:8001", 0, "localhost:8002", List.of("is id 2", "use -id 2")),
                arguments("localhost:10000", 0, "localhost:20000", List.of("is id 1")),
                arguments("localhost:8001", 7, "localhost:8000", List.of("-id 7", "use -id 0")),
                arguments("localhost:8000,localhost:8001", 0, "localhost:8000", List.of("own address localhost:8000")),
                arguments("localhost:8001,localhost:8001", 0, "localhost:8000", List.of("localhost:8001 twice")),
                arguments("localhost:8001, localhost:8001", 0, "localhost:8000", List.of("localhost:8001 twice")),
                arguments("localhost:8001,,localhost:8002", 0, "localhost:8000", List.of("empty item")),
                arguments(",localhost:8001", 0, "localhost:8000", List.of("empty item")),
                arguments("localhost:8001,localhost:8002,", 0, "localhost:8000", List.of("ends with a comma")),
                arguments("localhost:8001,localhost:8002, ", 0, "localhost:8000", List.of("ends with a comma")),
                arguments("localhost:8001,", 0, "localhost:8000", List.of("ends with a comma")),
                arguments("1=localhost:8001,2=localhost:8002,", 0, "localhost:8000", List.of("ends with a comma")),
                arguments("1=localhost:8001,,2=localhost:8002", 0, "localhost:8000", List.of("empty item")),
                arguments("1=localhost:8001, ,2=localhost:8002", 0, "localhost:8000", List.of("empty item")),
                arguments("1=localhost:8001,localhost:8002", 0, "localhost:8000", List.of("mixes", "one form")),
                arguments("localhost:8001,2=localhost:8002", 0, "localhost:8000", List.of("mixes")),
                arguments("0=localhost:8001", 0, "localhost:8000", List.of("id 0", "own -id")),
                arguments("1=localhost:8000", 0, "localhost:8000", List.of("own address localhost:8000", "id 1")),
                arguments("1=localhost:8001,2=localhost:8001", 0, "localhost:8000", List.of("localhost:8001 twice")),
                arguments("1=localhost:8001,1=localhost:8002", 0, "localhost:8000", List.of("id 1 twice")),
                arguments("one=localhost:8001", 0, "localhost:8000", List.of("'one=localhost:8001'", "numeric id")),
                arguments("=localhost:8001", 0, "localhost:8000", List.of("numeric id")),
                arguments("-1=localhost:8001", 0, "localhost:8000", List.of("ids must be >= 0")),
                arguments("1=", 0, "localhost:8000", List.of("bad address in -peers")),
                arguments("1=localhost", 0, "localhost:8000", List.of("bad address in -peers", "not host:port")),
                arguments("localhost", 0, "localhost:8000", List.of("bad address in -peers", "'localhost' is not host:port")),
                arguments("localhost:", 0, "localhost:8000", List.of("bad address in -peers", "not host:port")),
                arguments(":8001", 0, "localhost:8000", List.of("bad address in -peers", "not host:port")),
                arguments("localhost:http", 0, "localhost:8000", List.of("bad address in -peers", "no numeric port")),
                arguments("localhost:0", 0, "localhost:8000", List.of("bad address in -peers", "1..65535")),
                arguments("localhost:65536", 0, "localhost:8000", List.of("bad address in -peers", "1..65535")));
    }

    @ParameterizedTest(name = "-id {1} self {2} -peers \"{0}\" fails: {3}")
    @MethodSource("badSpecs")
    void refusesInconsistentSpecs(String spec, int selfId, String self, List<String> fragments) {
        assertThatThrownBy(() -> PeerSpec.parse(spec, selfId, hp(self)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContainingAll(fragments.toArray(String[]::new));
    }

    /**
     * The point of the bare form: every node, given the others in any order and its own position as
     * -id, derives the same id for every address.
     */
    @Property(tries = 300)
    void everyNodeDerivesTheSameIds(@ForAll("clusters") List<HostPort> members) {
        List<HostPort> sorted = members.stream().sorted().toList();
        for (int selfId = 0; selfId < sorted.size(); selfId++) {
            HostPort self = sorted.get(selfId);
            String spec = String.join(",", members.stream().filter(m -> !m.equals(self)).map(HostPort::toString).toList());
            Map<Integer, HostPort> expected = new TreeMap<>();
            for (int id = 0; id < sorted.size(); id++) if (id != selfId) expected.put(id, sorted.get(id));
            assertThat(PeerSpec.parse(spec, selfId, self)).as("node %s with -peers %s", self, spec).isEqualTo(expected);
        }
    }

    @Provide
    Arbitrary<List<HostPort>> clusters() {
        Arbitrary<HostPort> address = Combinators.combine(Arbitraries.of("localhost", "127.0.0.1", "node-a", "node-b"),
                Arbitraries.integers().between(1, 65535)).as(HostPort::new);
        return address.list().ofMinSize(1).ofMaxSize(7).uniqueElements();
    }
}
