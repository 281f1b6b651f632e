package io.raftkv.linearizability;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The JSON Lines history format, field for field. */
class HistoryTest {

    @Test
    void writesOneObjectPerLineInTheDocumentedFieldOrder() {
        History history = History.of(
                Operation.append(3, "k", "x", "ax", 1200, 1850),
                Operation.getNotFound(1, "k", 10, 20),
                Operation.put(2, "k", "v", 30, 40).timedOut());
        assertThat(history.toJsonLines()).isEqualTo("""
                {"client":3,"op":"append","key":"k","value":"x","output":"ax","call":1200,"return":1850,"ok":true}
                {"client":1,"op":"get","key":"k","value":null,"output":null,"call":10,"return":20,"ok":true}
                {"client":2,"op":"put","key":"k","value":"v","output":null,"call":30,"return":40,"ok":false}
                """);
    }

    @Test
    void readsWhatItWrites(@TempDir Path dir) throws IOException {
        History history = History.of(
                Operation.put(1, "key with \"quotes\"\nand a newline", "välue ✓", 0, 5),
                Operation.get(2, "k", "", 6, 9),
                Operation.appendResultNotKnown(3, "k", "a", 10, 11));
        Path file = dir.resolve("history.jsonl");
        history.writeJsonLines(file);
        assertThat(History.readJsonLines(file).operations()).isEqualTo(history.operations());
        assertThat(History.fromJsonLines(history.toJsonLines()).operations()).isEqualTo(history.operations());
    }

    @Test
    void readsMissingNullableFieldsAndSkipsBlankLines() throws IOException {
        History history = History.readJsonLines(new StringReader("""
                {"client":1,"op":"get","key":"k","call":1,"return":2,"ok":true}

                {"client":2,"op":"put","key":"k","value":"v","output":"ok","call":3,"return":4,"ok":true}
                """));
        assertThat(history.operations()).containsExactly(
                Operation.getNotFound(1, "k", 1, 2),
                Operation.put(2, "k", "v", 3, 4));
    }

    @Test
    void rejectsMalformedLinesNamingTheLine() {
        assertThatThrownBy(() -> History.readJsonLines(new StringReader("""
                {"client":1,"op":"get","key":"k","call":1,"return":2,"ok":true}
                {"client":1,"op":"remove","key":"k","call":1,"return":2,"ok":true}
                """))).isInstanceOfSatisfying(HistoryFormatException.class, e -> {
                    assertThat(e.lineNumber()).isEqualTo(2);
                    assertThat(e.problem()).isEqualTo("unknown op \"remove\" (expected put, append, get, delete, cas or txn)");
                    assertThat(e).hasMessageStartingWith("line 2: unknown op").hasMessageContaining("\"op\":\"remove\"");
                });
        String good = Operation.put(1, "k", "v", 1, 2).toString(); // not JSON: the fallback below must say so
        for (String bad : List.of(
                "{\"client\":1,\"op\":\"put\",\"key\":\"k\",\"call\":1,\"return\":2,\"ok\":true}", // put without value
                "{\"client\":1,\"op\":\"get\",\"key\":\"k\",\"value\":\"v\",\"call\":1,\"return\":2,\"ok\":true}",
                "{\"client\":1,\"op\":\"get\",\"key\":\"k\",\"call\":5,\"return\":2,\"ok\":true}", // returns before call
                "{\"client\":1,\"op\":\"get\",\"key\":\"k\",\"call\":\"1\",\"return\":2,\"ok\":true}",
                "{\"client\":1,\"op\":\"get\",\"key\":\"k\",\"call\":1,\"return\":2}",
                "{\"client\":4294967296,\"op\":\"get\",\"key\":\"k\",\"call\":1,\"return\":2,\"ok\":true}",
                "[1, 2]",
                "{not json",
                "{\"client\":1,",
                good))
            assertThatThrownBy(() -> History.readJsonLines(new StringReader(bad))).as(bad)
                    .isInstanceOfSatisfying(HistoryFormatException.class, e -> {
                        assertThat(e.lineNumber()).isEqualTo(1);
                        assertThat(e.getMessage()).startsWith("line 1: ").doesNotContain("\n");
                    });
    }

    /** Two operations run together on one line would otherwise lose the second without a word. */
    @Test
    void rejectsTwoValuesOnOneLine() {
        String line = History.of(Operation.put(1, "k", "a", 1, 2)).toJsonLines().strip();
        assertThatThrownBy(() -> History.fromJsonLines(line + line + "\n"))
                .hasRootCauseInstanceOf(HistoryFormatException.class)
                .hasMessageContaining("line 1: more than one JSON value on the line (the next at column " + (line.length() + 1) + ")");
    }

    /** The file is decoded line by line: a bad byte is reported on its own line, not where a buffer ended. */
    @Test
    void namesTheLineOfBytesThatAreNotUtf8AndAcceptsCrLf(@TempDir Path dir) throws IOException {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 500; i++) text.append(History.of(Operation.put(1, "k", "v" + i, i, i)).toJsonLines());
        Path crlf = dir.resolve("crlf.jsonl");
        Files.writeString(crlf, text.toString().replace("\n", "\r\n"));
        assertThat(History.readJsonLines(crlf).size()).isEqualTo(500);

        byte[] good = text.toString().getBytes(StandardCharsets.UTF_8);
        byte[] bad = new byte[good.length + 2];
        System.arraycopy(good, 0, bad, 0, good.length);
        bad[good.length] = (byte) 0xC3; // a lead byte with no continuation
        bad[good.length + 1] = '\n';
        Path file = dir.resolve("history.jsonl");
        Files.write(file, bad);
        assertThatThrownBy(() -> History.readJsonLines(file)).isInstanceOfSatisfying(HistoryFormatException.class, e -> {
            assertThat(e.lineNumber()).isEqualTo(501);
            assertThat(e.problem()).isEqualTo("not UTF-8 text");
        });
    }

    @Test
    void splitsByKeyKeepingOrder() {
        Operation a = Operation.put(1, "a", "1", 0, 1);
        Operation b = Operation.put(1, "b", "1", 2, 3);
        Operation a2 = Operation.get(2, "a", "1", 4, 5);
        assertThat(History.of(a, b, a2).byKey()).containsExactly(
                java.util.Map.entry("a", List.of(a, a2)), java.util.Map.entry("b", List.of(b)));
        assertThat(a2.withOutput(Optional.empty())).isEqualTo(Operation.getNotFound(2, "a", 4, 5));
    }
}
