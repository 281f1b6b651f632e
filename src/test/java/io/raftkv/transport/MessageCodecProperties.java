package io.raftkv.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.raftkv.raft.Message;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.constraints.Size;

import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The binary encoding of Raft messages: every message round-trips through both the array and the
 * ByteBuf paths, and decoding is total: a strict prefix, trailing bytes, random bytes or a
 * corrupted byte give an IllegalArgumentException or, when the bytes happen to form a message,
 * a message that re-encodes to exactly those bytes (the encoding is canonical).
 *
 * <p>Without a checksum a corrupted value field decodes to another valid message: TCP guards the
 * bytes in transit; the decoder only guarantees that nothing it accepts is malformed.
 */
class MessageCodecProperties {

    @Provide
    Arbitrary<Message> messages() {
        return Messages.any(70_000, 20);
    }

    /** Small enough that trying every prefix and every byte position stays cheap. */
    @Provide
    Arbitrary<Message> smallMessages() {
        return Messages.any(32, 6);
    }

    @Provide
    Arbitrary<Byte> types() {
        return Arbitraries.bytes().between((byte) 0, (byte) 9);
    }

    @Property
    void everyMessageRoundTripsThroughAnArray(@ForAll("messages") Message m) {
        byte[] bytes = MessageCodec.encode(m);
        assertThat(bytes).hasSize(MessageCodec.encodedSize(m));
        assertThat(bytes[0]).as("magic/version byte").isEqualTo((byte) 0xA2);
        Messages.assertSame(MessageCodec.decode(bytes), m);
    }

    @Property
    void everyMessageRoundTripsThroughAPooledBuffer(@ForAll("messages") Message m) {
        ByteBuf buf = MessageCodec.encode(m, PooledByteBufAllocator.DEFAULT);
        try {
            assertThat(buf.readableBytes()).isEqualTo(MessageCodec.encodedSize(m));
            assertThat(buf.maxCapacity()).as("allocated at exactly the computed size").isEqualTo(buf.readableBytes());
            assertThat(ByteBufUtil.getBytes(buf)).as("same bytes as the array path").isEqualTo(MessageCodec.encode(m));
            Messages.assertSame(MessageCodec.decode(buf), m);
            assertThat(buf.readableBytes()).as("decode consumes the body").isZero();
        } finally {
            assertThat(buf.release()).as("the caller holds the only reference").isTrue();
        }
    }

    /** HttpObjectAggregator hands over a composite buffer: fields may straddle its components. */
    @Property
    void everyMessageDecodesFromAFragmentedBuffer(@ForAll("messages") Message m, @ForAll Random random) {
        byte[] bytes = MessageCodec.encode(m);
        CompositeByteBuf composite = Unpooled.compositeBuffer(Integer.MAX_VALUE);
        int at = 0;
        while (at < bytes.length) {
            int piece = 1 + random.nextInt(Math.min(bytes.length - at, random.nextBoolean() ? 9 : 4096));
            composite.addComponent(true, Unpooled.wrappedBuffer(bytes, at, piece));
            at += piece;
        }
        try {
            Messages.assertSame(MessageCodec.decode(composite), m);
        } finally {
            composite.release();
        }
    }

    @Property(tries = 300)
    void everyStrictPrefixIsRejected(@ForAll("smallMessages") Message m) {
        byte[] bytes = MessageCodec.encode(m);
        for (int n = 0; n < bytes.length; n++) {
            byte[] prefix = Arrays.copyOf(bytes, n);
            assertThatThrownBy(() -> MessageCodec.decode(prefix)).as("prefix of %d of %d bytes of %s", n, bytes.length, m)
                    .isExactlyInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("raft message: ")
                    // A cut body is always found short somewhere: in a field, a length, or a count.
                    .message().containsAnyOf("empty body", "truncated at", "beyond the remaining", "needs at least");
        }
    }

    @Property
    void trailingBytesAreRejected(@ForAll("smallMessages") Message m, @ForAll @Size(min = 1, max = 40) byte[] extra) {
        byte[] bytes = MessageCodec.encode(m);
        byte[] longer = Arrays.copyOf(bytes, bytes.length + extra.length);
        System.arraycopy(extra, 0, longer, bytes.length, extra.length);
        assertThatThrownBy(() -> MessageCodec.decode(longer)).isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(extra.length + " trailing bytes after a complete "
                        + m.getClass().getSimpleName());
    }

    @Property(tries = 2000)
    void randomBytesGiveAMessageOrIllegalArgument(@ForAll @Size(max = 200) byte[] body) {
        decodesCanonicallyOrRefuses(body);
    }

    /** Random bytes rarely get past the magic byte; these do, so the body parsing sees the noise. */
    @Property(tries = 5000)
    void randomBodiesBehindAValidHeaderGiveAMessageOrIllegalArgument(@ForAll("types") byte type,
                                                                     @ForAll @Size(max = 120) byte[] rest) {
        byte[] body = new byte[2 + rest.length];
        body[0] = (byte) 0xA2;
        body[1] = type;
        System.arraycopy(rest, 0, body, 2, rest.length);
        decodesCanonicallyOrRefuses(body);
    }

    /** Every position of the encoding, each flipped with some random bits. */
    @Property(tries = 500)
    void singleByteCorruptionsGiveAMessageOrIllegalArgument(@ForAll("smallMessages") Message m, @ForAll Random random) {
        byte[] bytes = MessageCodec.encode(m);
        for (int i = 0; i < bytes.length; i++) {
            byte[] corrupt = bytes.clone();
            corrupt[i] ^= (byte) (1 + random.nextInt(255));
            Statistics.label("outcome").collect(decodesCanonicallyOrRefuses(corrupt) ? "decoded" : "refused");
        }
        // Both sides must be exercised: a corrupted value field still decodes, a corrupted header or length is refused.
        Statistics.label("outcome").coverage(c -> {
            c.check("decoded").count(n -> n > 0);
            c.check("refused").count(n -> n > 0);
        });
    }

    /**
     * Decoding either refuses with an IllegalArgumentException that names itself as a raft
     * message error, or gives a message whose encoding is {@code body} again; anything else thrown
     * (IndexOutOfBounds, NegativeArraySize, OutOfMemory ...) fails the property as it is.
     */
    private static boolean decodesCanonicallyOrRefuses(byte[] body) {
        Message m;
        try {
            m = MessageCodec.decode(body);
        } catch (IllegalArgumentException e) {
            assertThat(e).isExactlyInstanceOf(IllegalArgumentException.class);
            assertThat(e.getMessage()).startsWith("raft message: ");
            return false;
        }
        assertThat(MessageCodec.encode(m)).as("%s, decoded from %s, re-encoded", m, ByteBufUtil.hexDump(body))
                .isEqualTo(body);
        return true;
    }
}
