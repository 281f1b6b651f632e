package io.raftkv.storage;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.raftkv.raft.Entry;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

import static org.assertj.core.api.Assertions.assertThat;

/** Entries, data folders and on-disk inspection shared by the storage tests. */
final class StorageFixtures {
    static final Pattern CLOSED = Pattern.compile("log_(\\d{20})-(\\d{20})");
    static final Pattern OPEN = Pattern.compile("log_inprogress_(\\d{20})");

    private StorageFixtures() {}

    /** An entry whose data names its index and term, so a misplaced entry never compares equal. */
    static Entry entry(long index, long term) {
        return new Entry(index, term, ("cmd-" + index + "@" + term).getBytes(StandardCharsets.UTF_8));
    }

    static List<Entry> entries(long from, long to, long term) {
        return LongStream.rangeClosed(from, to).mapToObj(i -> entry(i, term)).toList();
    }

    static FileStorage open(Path dir, long maxSegmentBytes) {
        return FileStorage.open(dir, new FileStorage.Options(maxSegmentBytes, true));
    }

    /** A restart: a new FileStorage on the same folder, loaded and closed again. */
    static RaftStorage.Stored reload(Path dir, long maxSegmentBytes) {
        try (FileStorage s = open(dir, maxSegmentBytes)) {
            return s.load();
        }
    }

    static List<Path> walFiles(Path dataDir) {
        return list(dataDir.resolve("wal"));
    }

    static List<Path> list(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted(Comparator.comparing(Path::toString)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<String> names(List<Path> paths) {
        return paths.stream().map(p -> p.getFileName().toString()).toList();
    }

    /** The open segment, which must exist and be the only one. */
    static Path openSegment(Path dataDir) {
        List<Path> open = walFiles(dataDir).stream().filter(p -> OPEN.matcher(p.getFileName().toString()).matches()).toList();
        assertThat(open).as("open WAL segments").hasSize(1);
        return open.getFirst();
    }

    /** A closed segment's index range, or the open segment's first index with {@code last = -1}. */
    record SegmentName(long first, long last) {
        boolean isOpen() {
            return last < 0;
        }
    }

    /**
     * Checks the segment naming rules (closed {@code log_<first>-<last>} with contiguous ranges,
     * then exactly one {@code log_inprogress_<first>} right after them) and returns the segments.
     */
    static List<SegmentName> assertSegmentLayout(Path dataDir) {
        List<SegmentName> closed = new ArrayList<>();
        List<SegmentName> open = new ArrayList<>();
        for (String name : names(walFiles(dataDir))) {
            Matcher c = CLOSED.matcher(name);
            Matcher o = OPEN.matcher(name);
            if (c.matches()) {
                closed.add(new SegmentName(Long.parseLong(c.group(1)), Long.parseLong(c.group(2))));
            } else if (o.matches()) {
                open.add(new SegmentName(Long.parseLong(o.group(1)), -1));
            } else {
                throw new AssertionError("unexpected file in the WAL folder: " + name);
            }
        }
        assertThat(open).as("open segments in %s", names(walFiles(dataDir))).hasSize(1);
        for (int i = 0; i < closed.size(); i++) {
            SegmentName s = closed.get(i);
            assertThat(s.last()).as("closed segment %s is not empty", s).isGreaterThanOrEqualTo(s.first());
            if (i > 0) assertThat(s.first()).as("segment after %s", closed.get(i - 1)).isEqualTo(closed.get(i - 1).last() + 1);
        }
        if (!closed.isEmpty()) assertThat(open.getFirst().first()).as("open segment first index").isEqualTo(closed.getLast().last() + 1);
        List<SegmentName> all = new ArrayList<>(closed);
        all.add(open.getFirst());
        return all;
    }

    /** Start offsets of the records in a WAL segment, read with the documented framing. */
    static List<Integer> recordOffsets(byte[] segment) {
        List<Integer> offsets = new ArrayList<>();
        int pos = 0;
        while (pos < segment.length) {
            offsets.add(pos);
            pos += WalRecord.HEADER_BYTES + ByteBuffer.wrap(segment, pos, 4).getInt();
        }
        assertThat(pos).as("records end at the end of the file").isEqualTo(segment.length);
        return offsets;
    }

    /**
     * A record framed by hand per the layout in {@link WalRecord}'s Javadoc (length, CRC32C, type,
     * payload), so tests can write records the WAL itself would never write.
     */
    static byte[] rawRecord(byte type, ByteBuffer payload) {
        ByteBuffer body = ByteBuffer.allocate(1 + payload.remaining()).put(type).put(payload);
        body.flip();
        CRC32C crc = new CRC32C();
        crc.update(body.duplicate());
        return ByteBuffer.allocate(WalRecord.HEADER_BYTES + body.remaining())
                .putInt(body.remaining()).putInt((int) crc.getValue()).put(body).array();
    }

    static byte[] rawEntry(long index, long term, byte[] data) {
        return rawRecord(WalRecord.ENTRY, ByteBuffer.allocate(16 + data.length).putLong(index).putLong(term).put(data).flip());
    }

    static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void write(Path p, byte[] bytes) {
        try {
            Files.write(p, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Collects what one class logs, for the lines the storage promises to write. */
    static final class LogCapture implements AutoCloseable {
        private final Logger logger;
        private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

        LogCapture(Class<?> source) {
            logger = (Logger) LoggerFactory.getLogger(source);
            // Its own level, so that a quieter package level set elsewhere in the JVM does not hide the lines.
            logger.setLevel(ch.qos.logback.classic.Level.ALL);
            appender.start();
            logger.addAppender(appender);
        }

        List<String> messages() {
            return appender.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
        }

        void clear() {
            appender.list.clear();
        }

        @Override
        public void close() {
            logger.detachAppender(appender);
            logger.setLevel(null);
        }
    }
}
