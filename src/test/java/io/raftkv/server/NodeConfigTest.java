package io.raftkv.server;

import io.raftkv.kv.KvCommand;
import io.raftkv.raft.Entry;
import io.raftkv.raft.Message;
import io.raftkv.transport.HostPort;
import io.raftkv.transport.MessageCodec;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What NodeConfig refuses beyond single values: limits that do not fit each other. */
class NodeConfigTest {
    private static final HostPort SELF = HostPort.parse("localhost:8000");

    private static NodeConfig withLimits(int keyBytes, int valueBytes) {
        return NodeConfig.of(0, SELF, Map.of(1, HostPort.parse("localhost:8001"))).withLimits(keyBytes, valueBytes);
    }

    /**
     * The largest value the check allows makes an AppendEntries of exactly {@link NodeConfig#MAX_REQUEST_BYTES}
     * with the largest key; one byte more is refused, saying which flag to set to what.
     */
    @Test
    void theLargestEntryTheLimitsAllowFitsOnePeerRequestExactly() {
        int keyBytes = NodeConfig.DEFAULT_MAX_KEY_BYTES;
        int room = (int) (NodeConfig.MAX_REQUEST_BYTES - NodeConfig.ONE_ENTRY_OVERHEAD_BYTES - keyBytes);
        assertThatCode(() -> withLimits(keyBytes, room)).doesNotThrowAnyException();
        assertThatThrownBy(() -> withLimits(keyBytes, room + 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContainingAll("--max-value-bytes " + (room + 1), "set --max-value-bytes to at most " + room,
                        NodeConfig.MAX_REQUEST_BYTES + " bytes a node accepts");
        assertThatThrownBy(() -> withLimits(Integer.MAX_VALUE, Integer.MAX_VALUE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("the two together may be at most");
    }

    /** The overhead the check adds to key and value is what the encodings really add, for any command. */
    @ParameterizedTest(name = "key {0} bytes, value {1} bytes")
    @CsvSource({"1, 0", "4096, 1048576", "3, 7"})
    void oneEntryOverheadMatchesTheEncodings(int keyChars, int valueChars) {
        // Three-byte UTF-8 characters in the value: limits count bytes, not chars.
        String key = "k".repeat(keyChars);
        String value = "\u20ac".repeat(valueChars);
        // Delete, cas and txn are bounded by the same budget when they are parsed (KvApiJsonTest).
        for (KvCommand.Op op : List.of(KvCommand.Op.PUT, KvCommand.Op.APPEND, KvCommand.Op.REGISTER)) {
            KvCommand cmd = new KvCommand(op, key, value, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE);
            int size = MessageCodec.encodedSize(new Message.AppendEntries(Integer.MAX_VALUE, 1, Long.MAX_VALUE, Long.MAX_VALUE,
                    Long.MAX_VALUE, List.of(new Entry(Long.MAX_VALUE - 1, Long.MAX_VALUE, cmd.encode())), Long.MAX_VALUE, 42));
            assertThat(size).as("%s of a %d-byte key and a %d-byte value", op, keyChars, 3 * valueChars)
                    .isEqualTo(NodeConfig.ONE_ENTRY_OVERHEAD_BYTES + keyChars + 3L * valueChars);
        }
    }
}
