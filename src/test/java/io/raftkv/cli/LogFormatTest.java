package io.raftkv.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftkv.server.TestNodes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code --log-format json}: one JSON object per line, role changes with their fields. */
class LogFormatTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @AfterEach
    void backToText() {
        LogFormat.reset();
    }

    @Test
    @DisplayName("json: every line of a node's log is one JSON object; a recovery and a role change carry their fields")
    void jsonLinesWithRoleChangeFields() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        LogFormat.JSON.apply(out);
        try (TestNodes single = new TestNodes(1).startAll()) {
            single.awaitLeader(Set.of(0), Duration.ofSeconds(30));
        }
        List<JsonNode> lines = new ArrayList<>();
        for (String line : out.toString(StandardCharsets.UTF_8).split("\n")) {
            if (line.isBlank()) continue;
            lines.add(JSON.readTree(line)); // throws on anything that is not one JSON value
            assertThat(lines.getLast().isObject()).as(line).isTrue();
        }
        assertThat(lines).as("log lines").isNotEmpty().allSatisfy(l -> {
            assertThat(l.path("level").asText()).isNotEmpty();
            assertThat(l.path("loggerName").asText()).startsWith("io.raftkv");
            assertThat(l.path("formattedMessage").asText()).isNotEmpty();
        });
        JsonNode toLeader = lines.stream().filter(l -> kv(l, "event").equals("role_change") && kv(l, "to").equals("leader"))
                .findFirst().orElseThrow(() -> new AssertionError("no role change to leader in " + lines));
        assertThat(kv(toLeader, "node")).isEqualTo("0");
        assertThat(Long.parseLong(kv(toLeader, "term"))).isPositive();
        assertThat(kv(toLeader, "from")).isEqualTo("candidate");
        assertThat(kv(toLeader, "reason")).isNotEmpty();
        assertThat(toLeader.path("formattedMessage").asText()).contains("-> leader");
        // The recovery at start, with what it found.
        JsonNode recovered = lines.stream().filter(l -> kv(l, "event").equals("recovered")).findFirst()
                .orElseThrow(() -> new AssertionError("no recovery line in " + lines));
        assertThat(kv(recovered, "snapshotIndex")).isEqualTo("0");
        assertThat(kv(recovered, "logEntries")).isEqualTo("0");
    }

    @Test
    @DisplayName("an unknown --log-format is a usage error that names the formats")
    void unknownFormatIsRefused() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new String[]{"-id", "0", "-port", "18999", "--log-format", "xml"}, new PrintWriter(out, true),
                new PrintWriter(err, true));
        assertThat(code).isEqualTo(Main.EXIT_USAGE);
        assertThat(err.toString()).startsWith("raftkv: --log-format must be text or json, not 'xml'").doesNotContain("\tat ");
    }

    /** A key-value of the event (logback writes them as a list of one-key objects). */
    private static String kv(JsonNode line, String key) {
        for (JsonNode pair : line.path("kvpList")) {
            if (pair.has(key)) return pair.get(key).asText();
        }
        return "";
    }
}
