package io.raftkv.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.raftkv.raft.Configuration;
import io.raftkv.raft.Entry;
import io.raftkv.raft.Message;
import io.raftkv.raft.Message.AppendEntries;
import io.raftkv.raft.Message.AppendEntriesResponse;
import io.raftkv.raft.Message.InstallSnapshot;
import io.raftkv.raft.Message.InstallSnapshotResponse;
import io.raftkv.raft.Message.RequestVote;
import io.raftkv.raft.Message.RequestVoteResponse;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * The wire layout drawn in {@link MessageCodec}, byte for byte, and the refusals of bodies that
 * break it, each with a message naming what is wrong. The properties cover arbitrary messages.
 */
class MessageCodecTest {
    private static final HexFormat HEX = HexFormat.of();

    // ---------------------------------------------------------------- layout

    @Test
    void requestVoteHasTheDocumentedLayout() {
        assertThat(hex(new RequestVote(1, 2, 3, 4, 5, true))).isEqualTo(
                "a2" + "01" + "00000001" + "00000002" + "0000000000000003"
                        + "0000000000000004" + "0000000000000005" + "01");
    }

    @Test
    void aTransferVoteSetsFlag0x02AndTimeoutNowIsAHeaderAlone() {
        assertThat(hex(new RequestVote(1, 2, 3, 4, 5, false, true))).endsWith("02");
        assertThat(hex(new RequestVote(1, 2, 3, 4, 5, true, true))).endsWith("03");
        assertThat(hex(new Message.TimeoutNow(1, 2, 3))).isEqualTo(
                "a2" + "07" + "00000001" + "00000002" + "0000000000000003");
        assertThat(MessageCodec.path(new Message.TimeoutNow(1, 2, 3))).isEqualTo("/timeoutNow");
        assertThat(new Message.TimeoutNow(1, 2, 3).isResponse()).as("a request, answered by nothing").isFalse();
    }

    @Test
    void appendEntriesSendsTheFirstIndexThenTermAndDataOfEachEntry() {
        AppendEntries ae = new AppendEntries(1, 2, 7, 9, 6,
                List.of(new Entry(10, 7, "ab".getBytes(StandardCharsets.US_ASCII)), Entry.noop(11, 8)), 8, 5);
        assertThat(hex(ae)).isEqualTo(
                "a2" + "03" + "00000001" + "00000002" + "0000000000000007"
                        + "0000000000000009" + "0000000000000006" + "0000000000000008" + "0000000000000005"
                        + "00000002" + "000000000000000a"
                        + "0000000000000007" + "00" + "00000002" + "6162"
                        + "0000000000000008" + "00" + "00000000");
    }

    @Test
    @DisplayName("thesis §4.1: a configuration entry travels with type 1 and its configuration as data")
    void aConfigurationEntryCarriesItsType() {
        Configuration c = new Configuration(new java.util.TreeMap<>(java.util.Map.of(1, "a")),
                new java.util.TreeMap<>(java.util.Map.of(4, "d")));
        AppendEntries ae = new AppendEntries(1, 2, 7, 9, 6, List.of(Entry.config(10, 7, c)), 8, 0);
        assertThat(hex(ae)).endsWith("0000000000000007" + "01" + "0000001b"
                + "01" + "00000001" + "00000001" + "00000001" + "61" + "00000001" + "00000004" + "00000001" + "64");
        assertThat(((AppendEntries) MessageCodec.decode(MessageCodec.encode(ae))).entries().getFirst().configuration())
                .isEqualTo(c);
    }

    @Test
    void aHeartbeatCarriesNoFirstIndex() {
        assertThat(hex(new AppendEntries(1, 2, 7, 9, 6, List.of(), 8))).endsWith("0000000000000000" + "00000000");
        assertThat(MessageCodec.encodedSize(new AppendEntries(1, 2, 7, 9, 6, List.of(), 8))).isEqualTo(54);
    }

    @Test
    void flagsAndSizesOfTheOtherTypesFollowTheTable() {
        assertThat(hex(new RequestVoteResponse(1, 2, 3, true, true))).endsWith("03").hasSize(2 * 19);
        assertThat(hex(new RequestVoteResponse(1, 2, 3, false, true))).endsWith("02");
        assertThat(hex(new AppendEntriesResponse(1, 2, 3, true, 4, 5, 6, 7, 8))).hasSize(2 * 59)
                .endsWith("01" + "0000000000000004" + "0000000000000005" + "0000000000000006" + "0000000000000007"
                        + "0000000000000008");
        assertThat(hex(new InstallSnapshot(1, 2, 3, 4, 5, Configuration.bootstrap(List.of(1, 2)), 6,
                new byte[] {(byte) 0xee}, true))).hasSize(2 * 77)
                .endsWith("0000000000000004" + "0000000000000005" + "0000000000000006" + "01"
                        + "00000019" + "01" + "00000002" + "00000001" + "00000000" + "00000002" + "00000000" + "00000000"
                        + "00000001" + "ee");
        assertThat(hex(new InstallSnapshotResponse(1, 2, 3, 4, 5, true))).hasSize(2 * 35)
                .endsWith("0000000000000004" + "0000000000000005" + "01");
    }

    // ---------------------------------------------------------------- encoding paths

    @Test
    void entriesWithAGapInTheirIndexesCannotBeEncoded() {
        AppendEntries gap = new AppendEntries(1, 2, 3, 0, 0, List.of(Entry.noop(1, 1), Entry.noop(3, 1)), 0);
        assertThatThrownBy(() -> MessageCodec.encode(gap)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("consecutive indexes: entry 1 has index 3, expected 2");
        assertThatThrownBy(() -> MessageCodec.encode(gap, PooledByteBufAllocator.DEFAULT))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void encodeToAppendsAtTheWriterIndex() {
        Message m = new RequestVoteResponse(4, 5, 6, true);
        ByteBuf buf = Unpooled.buffer(4).writeInt(0xcafe);
        MessageCodec.encodeTo(m, buf);
        assertThat(buf.readInt()).isEqualTo(0xcafe);
        assertThat(MessageCodec.decode(buf)).isEqualTo(m);
    }

    @Test
    void largeMessagesRoundTrip() {
        Random random = new Random(7);
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) entries.add(new Entry(1_000_000 + i, 3 + i / 1000, bytes(random, i % 300)));
        entries.add(new Entry(1_010_000, 13, bytes(random, 1 << 20)));
        AppendEntries ae = new AppendEntries(1, 2, 13, 999_999, 3, entries, 1_000_500, 77);
        Messages.assertSame(MessageCodec.decode(MessageCodec.encode(ae)), ae);

        InstallSnapshot chunk = new InstallSnapshot(1, 2, 13, 1_000_000, 12, Configuration.bootstrap(List.of(1, 2, 3)),
                8 << 20, bytes(random, 4 << 20), false);
        ByteBuf buf = MessageCodec.encode(chunk, PooledByteBufAllocator.DEFAULT);
        try {
            Messages.assertSame(MessageCodec.decode(buf), chunk);
        } finally {
            buf.release();
        }
    }

    /** The decoded message owns its data: the request buffer is released right after decoding. */
    @Test
    void decodedDataDoesNotShareTheBuffer() {
        byte[] data = {1, 2, 3};
        byte[] body = MessageCodec.encode(new AppendEntries(1, 2, 3, 0, 0, List.of(new Entry(1, 1, data)), 0));
        byte[] snapshotBody = MessageCodec.encode(new InstallSnapshot(1, 2, 3, 4, 5, Configuration.bootstrap(List.of(1)), 0, data, true));
        AppendEntries ae = (AppendEntries) MessageCodec.decode(body);
        InstallSnapshot is = (InstallSnapshot) MessageCodec.decode(snapshotBody);
        Arrays.fill(body, (byte) 0);
        Arrays.fill(snapshotBody, (byte) 0);
        assertThat(ae.entries().getFirst().data()).containsExactly(1, 2, 3);
        assertThat(is.data()).containsExactly(1, 2, 3);
    }

    // ---------------------------------------------------------------- refusals

    /** What raftkv sent before the binary encoding, as a peer still running it would. */
    @Test
    void jsonFromAnOlderVersionIsRefusedNamingTheVersionMismatch() {
        byte[] json = ("{\"type\":\"AppendEntries\",\"from\":1,\"to\":0,\"term\":3,\"prevLogIndex\":0,"
                + "\"prevLogTerm\":0,\"leaderCommit\":0,\"entries\":[]}").getBytes(StandardCharsets.UTF_8);
        assertRefused(json, "raft message: bad magic byte 0x7b ('{': JSON", "expected 0xa2",
                "peers must run the same raftkv version");
        assertRefused(new byte[] {0x00, 0x01}, "bad magic byte 0x00", "peers must run the same raftkv version");
    }

    @Test
    void anotherVersionOfThisEncodingIsRefusedNamingBothVersions() {
        byte[] body = MessageCodec.encode(new RequestVoteResponse(1, 2, 3, true));
        body[0] = (byte) 0xA1;
        assertRefused(body, "encoding version 1, this node speaks version 2", "peers must run the same raftkv version");
    }

    @Test
    void emptyBodyAndUnknownTypesAreRefused() {
        assertRefused(new byte[0], "raft message: empty body");
        for (int type : new int[] {0, 8, 0x80, 0xff}) {
            assertRefused(new byte[] {(byte) 0xA2, (byte) type, 0, 0, 0, 1}, "unknown message type " + type);
        }
    }

    @Test
    void truncationNamesTheFieldAndTheMessageType() {
        byte[] body = MessageCodec.encode(new RequestVote(1, 2, 3, 4, 5));
        assertRefused(Arrays.copyOf(body, 1), "truncated at field 'type' of header (needs 1 byte, 0 left)");
        assertRefused(Arrays.copyOf(body, 12), "truncated at field 'term' of RequestVote (needs 8 bytes, 2 left)");
        assertRefused(Arrays.copyOf(body, body.length - 1), "truncated at field 'flags' of RequestVote");
        byte[] ae = MessageCodec.encode(new AppendEntries(1, 2, 3, 0, 0,
                List.of(new Entry(1, 1, new byte[10]), Entry.noop(2, 1)), 0));
        assertRefused(Arrays.copyOf(ae, ae.length - 6),
                "truncated at field 'term' of entry 1 of AppendEntries (needs 8 bytes, 7 left)");
        assertRefused(Arrays.copyOf(ae, ae.length - 5),
                "truncated at field 'type' of entry 1 of AppendEntries (needs 1 byte, 0 left)");
        assertRefused(Arrays.copyOf(ae, ae.length - 20), "entry count 2 needs at least 26 bytes, 16 left");
    }

    @Test
    void trailingBytesAreRefused() {
        byte[] body = MessageCodec.encode(new InstallSnapshotResponse(1, 2, 3, 4, 5, false));
        assertRefused(Arrays.copyOf(body, body.length + 2), "2 trailing bytes after a complete InstallSnapshotResponse");
    }

    @Test
    void negativeLengthsAndCountsAreRefused() {
        assertRefused(snapshotHeader().writeInt(-1).writeByte(0),
                "negative length -1 in field 'data' of InstallSnapshot");
        assertRefused(appendHeader().writeInt(-5), "negative entry count -5");
        assertRefused(appendHeader().writeInt(1).writeLong(1).writeLong(1).writeByte(0).writeInt(Integer.MIN_VALUE),
                "negative length -2147483648 in field 'data' of entry 0 of AppendEntries");
        assertRefused(header(MessageCodec.INSTALL_SNAPSHOT).writeLong(4).writeLong(5).writeLong(6).writeByte(1)
                .writeInt(-3), "negative length -3 in field 'configuration' of InstallSnapshot");
    }

    @Test
    void invalidEntryIndexesAndTermsAreRefused() {
        assertRefused(appendHeader().writeInt(1).writeLong(0).writeLong(1).writeByte(0).writeInt(0),
                "firstIndex 0 must be >= 1");
        assertRefused(appendHeader().writeInt(1).writeLong(-4).writeLong(1).writeByte(0).writeInt(0),
                "firstIndex -4 must be >= 1");
        assertRefused(appendHeader().writeInt(2).writeLong(Long.MAX_VALUE)
                        .writeLong(1).writeByte(0).writeInt(0).writeLong(1).writeByte(0).writeInt(0),
                "indexes of 2 entries from firstIndex " + Long.MAX_VALUE + " overflow");
        assertRefused(appendHeader().writeInt(2).writeLong(5).writeLong(1).writeByte(0).writeInt(0).writeLong(0)
                        .writeByte(0).writeInt(0),
                "term 0 of entry 1 must be >= 1");
        // The last index a long can hold is fine.
        AppendEntries last = (AppendEntries) MessageCodec.decode(appendHeader().writeInt(1).writeLong(Long.MAX_VALUE)
                .writeLong(1).writeByte(0).writeInt(0));
        assertThat(last.entries()).containsExactly(Entry.noop(Long.MAX_VALUE, 1));
    }

    @Test
    @DisplayName("thesis §4.1: an unknown entry type, or a configuration that does not decode, is refused")
    void entryTypesAndConfigurationsAreChecked() {
        assertRefused(appendHeader().writeInt(1).writeLong(1).writeLong(1).writeByte(2).writeInt(0),
                "unknown entry type 2 in field 'type' of entry 0 of AppendEntries");
        assertRefused(appendHeader().writeInt(1).writeLong(1).writeLong(1).writeByte(1).writeInt(1).writeByte(9),
                "bad field 'data' of entry 0 of AppendEntries: configuration: format version 9");
        assertRefused(header(MessageCodec.INSTALL_SNAPSHOT).writeLong(4).writeLong(5).writeLong(6).writeByte(1)
                        .writeInt(0).writeInt(0),
                "bad field 'configuration' of InstallSnapshot: configuration: empty");
    }

    /** Unknown bits would decode to the same message as the canonical byte: refused, so the encoding stays canonical. */
    @Test
    void unknownFlagBitsAreRefused() {
        byte[] vote = MessageCodec.encode(new RequestVote(1, 2, 3, 4, 5, false));
        vote[vote.length - 1] = 0x04;
        assertRefused(vote, "unknown bits 0x04 in field 'flags' of RequestVote");
        byte[] answer = MessageCodec.encode(new RequestVoteResponse(1, 2, 3, true, true));
        answer[answer.length - 1] = (byte) 0x83;
        assertRefused(answer, "unknown bits 0x80 in field 'flags' of RequestVoteResponse");
    }

    /**
     * A forged length or count is checked against the bytes that remain before anything of its
     * size is allocated: decoding a 2 GiB claim in a tiny body allocates next to nothing.
     */
    @Test
    void forgedHugeLengthsAreRefusedWithoutAllocating() {
        assertRefusedCheaply(snapshotHeader().writeInt(Integer.MAX_VALUE).writeBytes(new byte[3]),
                "length 2147483647 in field 'data' of InstallSnapshot is beyond the remaining 3 bytes");
        assertRefusedCheaply(appendHeader().writeInt(Integer.MAX_VALUE).writeLong(1).writeBytes(new byte[12]),
                "entry count 2147483647 needs at least 27917287411 bytes, 12 left");
        assertRefusedCheaply(appendHeader().writeInt(1).writeLong(1).writeLong(1).writeByte(0).writeInt(Integer.MAX_VALUE)
                        .writeBytes(new byte[5]),
                "length 2147483647 in field 'data' of entry 0 of AppendEntries is beyond the remaining 5 bytes");
        assertRefusedCheaply(appendHeader().writeInt(1).writeLong(1).writeLong(1).writeByte(0).writeInt(2),
                "length 2 in field 'data' of entry 0 of AppendEntries is beyond the remaining 0 bytes");
    }

    // ---------------------------------------------------------------- helpers

    private static String hex(Message m) {
        return HEX.formatHex(MessageCodec.encode(m));
    }

    private static byte[] bytes(Random random, int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static ByteBuf header(byte type) {
        return Unpooled.buffer().writeByte(0xA2).writeByte(type).writeInt(1).writeInt(2).writeLong(3);
    }

    /** An AppendEntries up to its entry count. */
    private static ByteBuf appendHeader() {
        return header(MessageCodec.APPEND_ENTRIES).writeLong(0).writeLong(0).writeLong(0).writeLong(0);
    }

    /** An InstallSnapshot up to its data length. */
    private static ByteBuf snapshotHeader() {
        byte[] configuration = Configuration.bootstrap(List.of(1)).encode();
        return header(MessageCodec.INSTALL_SNAPSHOT).writeLong(4).writeLong(5).writeLong(6).writeByte(1)
                .writeInt(configuration.length).writeBytes(configuration);
    }

    private static void assertRefused(ByteBuf body, String... fragments) {
        assertRefused(ByteBufUtil.getBytes(body), fragments);
    }

    private static void assertRefused(byte[] body, String... fragments) {
        assertThatThrownBy(() -> MessageCodec.decode(body)).as("decoding %s", HEX.formatHex(body))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("raft message: ")
                .hasMessageContainingAll(fragments);
    }

    private static void assertRefusedCheaply(ByteBuf forged, String fragment) {
        byte[] body = ByteBufUtil.getBytes(forged);
        assertRefused(body, fragment); // also warms up the path
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeThat(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled()).isTrue();
        long before = threads.getCurrentThreadAllocatedBytes();
        try {
            MessageCodec.decode(body);
        } catch (IllegalArgumentException expected) {
            // refused, as checked above
        }
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertThat(allocated).as("bytes allocated refusing %s", fragment).isLessThan(64 * 1024);
    }
}
