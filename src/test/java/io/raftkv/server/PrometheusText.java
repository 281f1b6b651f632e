package io.raftkv.server;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * A strict parser of the Prometheus text exposition format 0.0.4 (prometheus.io, "Exposition
 * formats"), for tests. Why our own: no maintained Java library parses this format. The
 * Prometheus Java client ({@code io.prometheus:prometheus-metrics-exposition-textformats}, and
 * {@code simpleclient_common} before it) only writes it, Micrometer only writes it, and the
 * Java parsers that once existed (Hawkular's {@code prometheus-scraper}) have not been released
 * since 2017; the maintained parsers are Go's ({@code prometheus/common/expfmt}), Python's
 * ({@code prometheus_client.parser}) and Rust's. So this one follows the format's grammar
 * literally and rejects what Prometheus would reject, rather than pattern-matching lines:
 * <ul>
 *   <li>metric and label names by the format's grammar; label values with the three escapes
 *       ({@code \\}, {@code \"}, {@code \n}) and nothing else; a value that is a Go float
 *       ({@code +Inf}, {@code -Inf}, {@code NaN} included); an optional integer timestamp;</li>
 *   <li>at most one {@code # HELP} and one {@code # TYPE} per family, the TYPE before its samples,
 *       every sample in the family its TYPE declared (histogram: {@code _bucket}, {@code _sum},
 *       {@code _count}; summary: quantiles, {@code _sum}, {@code _count}), a family's samples
 *       together, no series twice;</li>
 *   <li>histograms: every bucket has {@code le}, buckets grow with {@code le} and never decrease,
 *       the {@code +Inf} bucket exists and equals {@code _count}.</li>
 * </ul>
 * Any violation throws {@link IllegalArgumentException} naming the line.
 */
final class PrometheusText {
    /** One sample: its full name (e.g. {@code x_bucket}), labels in order of name, and value. */
    record Sample(String name, Map<String, String> labels, double value) {
        String label(String key) {
            return labels.get(key);
        }
    }

    /** A metric family: name, type ({@code counter}, {@code gauge}, {@code histogram}, {@code summary}, {@code untyped}), help, samples. */
    record Family(String name, String type, String help, List<Sample> samples) {}

    private static final Set<String> TYPES = Set.of("counter", "gauge", "histogram", "summary", "untyped");

    private final Map<String, Family> families = new LinkedHashMap<>();

    private PrometheusText() {}

    static Map<String, Family> parse(String text) {
        PrometheusText p = new PrometheusText();
        p.parseAll(text);
        p.families.values().forEach(PrometheusText::checkHistogram);
        return p.families;
    }

    /** Every sample of every family. */
    static List<Sample> samples(Map<String, Family> families) {
        List<Sample> all = new ArrayList<>();
        families.values().forEach(f -> all.addAll(f.samples()));
        return all;
    }

    /** The one sample {@code name} with exactly {@code labels} among its labels (besides others), if any. */
    static Optional<Sample> find(Map<String, Family> families, String name, Map<String, String> labels) {
        List<Sample> found = samples(families).stream().filter(s -> s.name().equals(name))
                .filter(s -> s.labels().entrySet().containsAll(labels.entrySet())).toList();
        if (found.size() > 1) throw new AssertionError("more than one " + name + labels + ": " + found);
        return found.stream().findFirst();
    }

    // ---------------------------------------------------------------- the grammar

    private String lastFamily;
    private final java.util.HashSet<String> closedFamilies = new java.util.HashSet<>();
    private final java.util.HashSet<String> series = new java.util.HashSet<>();
    private final Map<String, String> helps = new TreeMap<>();
    private final Map<String, String> types = new TreeMap<>();

    private void parseAll(String text) {
        if (!text.isEmpty() && !text.endsWith("\n")) throw new IllegalArgumentException("the text does not end with a line feed");
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length - 1; i++) {
            String line = lines[i];
            try {
                parseLine(line);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("line " + (i + 1) + ": " + e.getMessage() + ": " + line, e);
            }
        }
    }

    private void parseLine(String line) {
        if (line.isBlank()) return;
        if (line.startsWith("#")) {
            String[] parts = line.split("[ \t]+", 4);
            if (parts.length >= 3 && parts[0].equals("#") && (parts[1].equals("HELP") || parts[1].equals("TYPE"))) {
                String name = parts[2];
                requireMetricName(name);
                String rest = parts.length == 4 ? parts[3] : "";
                if (parts[1].equals("HELP")) {
                    if (helps.put(name, unescapeHelp(rest)) != null) throw new IllegalArgumentException("second HELP for " + name);
                } else {
                    if (!TYPES.contains(rest)) throw new IllegalArgumentException("unknown type '" + rest + "'");
                    if (types.put(name, rest) != null) throw new IllegalArgumentException("second TYPE for " + name);
                    if (families.containsKey(name)) throw new IllegalArgumentException("TYPE of " + name + " after its samples");
                }
            }
            return; // any other comment
        }
        parseSample(line);
    }

    private void parseSample(String line) {
        int i = 0;
        int n = line.length();
        while (i < n && isNameChar(line.charAt(i), i == 0)) i++;
        String name = line.substring(0, i);
        requireMetricName(name);
        Map<String, String> labels = new TreeMap<>();
        if (i < n && line.charAt(i) == '{') {
            i++;
            while (true) {
                if (i >= n) throw new IllegalArgumentException("unterminated label set");
                if (line.charAt(i) == '}') {
                    i++;
                    break;
                }
                int start = i;
                while (i < n && isLabelChar(line.charAt(i), i == start)) i++;
                String label = line.substring(start, i);
                if (label.isEmpty()) throw new IllegalArgumentException("empty label name at column " + (start + 1));
                if (label.startsWith("__")) throw new IllegalArgumentException("reserved label name " + label);
                if (i >= n || line.charAt(i) != '=') throw new IllegalArgumentException("no '=' after label " + label);
                i++;
                if (i >= n || line.charAt(i) != '"') throw new IllegalArgumentException("label " + label + " has no quoted value");
                i++;
                StringBuilder value = new StringBuilder();
                while (true) {
                    if (i >= n) throw new IllegalArgumentException("unterminated value of label " + label);
                    char c = line.charAt(i++);
                    if (c == '"') break;
                    if (c == '\\') {
                        if (i >= n) throw new IllegalArgumentException("dangling escape in label " + label);
                        char e = line.charAt(i++);
                        switch (e) {
                            case '\\' -> value.append('\\');
                            case '"' -> value.append('"');
                            case 'n' -> value.append('\n');
                            default -> throw new IllegalArgumentException("bad escape \\" + e + " in label " + label);
                        }
                    } else {
                        value.append(c);
                    }
                }
                if (labels.put(label, value.toString()) != null) throw new IllegalArgumentException("label " + label + " twice");
                if (i < n && line.charAt(i) == ',') i++;
                else if (i >= n || line.charAt(i) != '}') throw new IllegalArgumentException("expected ',' or '}' after label " + label);
            }
        }
        if (i >= n || (line.charAt(i) != ' ' && line.charAt(i) != '\t')) throw new IllegalArgumentException("no value");
        String[] rest = line.substring(i).trim().split("[ \t]+");
        if (rest.length < 1 || rest.length > 2) throw new IllegalArgumentException("expected a value and an optional timestamp");
        double value = parseValue(rest[0]);
        if (rest.length == 2) {
            try {
                Long.parseLong(rest[1]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("timestamp is not an integer: " + rest[1]);
            }
        }
        String family = familyOf(name);
        if (!family.equals(lastFamily)) {
            if (closedFamilies.contains(family)) throw new IllegalArgumentException("samples of " + family + " are not together");
            if (lastFamily != null) closedFamilies.add(lastFamily);
            lastFamily = family;
        }
        if (!series.add(name + labels)) throw new IllegalArgumentException("series " + name + labels + " twice");
        families.computeIfAbsent(family, f -> new Family(f, types.getOrDefault(f, "untyped"), helps.get(f), new ArrayList<>()))
                .samples().add(new Sample(name, java.util.Collections.unmodifiableMap(labels), value));
    }

    /** The family a sample belongs to, by the TYPE lines seen so far; a sample of no declared family is untyped. */
    private String familyOf(String name) {
        for (String suffix : List.of("_bucket", "_count", "_sum")) {
            if (!name.endsWith(suffix)) continue;
            String base = name.substring(0, name.length() - suffix.length());
            String t = types.get(base);
            if ("histogram".equals(t) || ("summary".equals(t) && !suffix.equals("_bucket"))) return base;
        }
        String t = types.get(name);
        if ("histogram".equals(t)) throw new IllegalArgumentException("histogram sample " + name + " without _bucket, _sum or _count");
        return name;
    }

    private static void checkHistogram(Family f) {
        if (!f.type().equals("histogram")) return;
        Map<Map<String, String>, List<Sample>> buckets = new LinkedHashMap<>();
        Map<Map<String, String>, Double> counts = new LinkedHashMap<>();
        for (Sample s : f.samples()) {
            if (s.name().endsWith("_bucket")) {
                if (s.label("le") == null) throw new IllegalArgumentException(f.name() + ": a bucket without le: " + s);
                Map<String, String> rest = new TreeMap<>(s.labels());
                rest.remove("le");
                buckets.computeIfAbsent(rest, k -> new ArrayList<>()).add(s);
            } else if (s.name().endsWith("_count")) {
                counts.put(s.labels(), s.value());
            }
        }
        for (var e : buckets.entrySet()) {
            double prevLe = Double.NEGATIVE_INFINITY;
            double prevCount = 0;
            for (Sample b : e.getValue()) {
                double le = parseValue(b.label("le"));
                if (le <= prevLe) throw new IllegalArgumentException(f.name() + e.getKey() + ": le " + le + " after " + prevLe);
                if (b.value() < prevCount) throw new IllegalArgumentException(f.name() + e.getKey() + ": bucket le=" + le
                        + " has " + b.value() + " < " + prevCount + " of the one before");
                prevLe = le;
                prevCount = b.value();
            }
            if (prevLe != Double.POSITIVE_INFINITY) throw new IllegalArgumentException(f.name() + e.getKey() + ": no +Inf bucket");
            Double count = counts.get(e.getKey());
            if (count == null || count != prevCount) throw new IllegalArgumentException(f.name() + e.getKey()
                    + ": +Inf bucket " + prevCount + " but _count " + count);
        }
    }

    private static double parseValue(String s) {
        switch (s) {
            case "+Inf", "Inf" -> {
                return Double.POSITIVE_INFINITY;
            }
            case "-Inf" -> {
                return Double.NEGATIVE_INFINITY;
            }
            case "NaN" -> {
                return Double.NaN;
            }
            default -> {
                if (!s.matches("[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?")) throw new IllegalArgumentException("not a number: " + s);
                return Double.parseDouble(s);
            }
        }
    }

    private static String unescapeHelp(String s) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '\\') {
                out.append(c);
                continue;
            }
            if (++i >= s.length()) throw new IllegalArgumentException("dangling escape in HELP");
            char e = s.charAt(i);
            switch (e) {
                case '\\' -> out.append('\\');
                case 'n' -> out.append('\n');
                default -> throw new IllegalArgumentException("bad escape \\" + e + " in HELP");
            }
        }
        return out.toString();
    }

    private static void requireMetricName(String name) {
        if (name.isEmpty()) throw new IllegalArgumentException("no metric name");
        for (int i = 0; i < name.length(); i++) {
            if (!isNameChar(name.charAt(i), i == 0)) throw new IllegalArgumentException("bad metric name " + name);
        }
    }

    private static boolean isNameChar(char c, boolean first) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || !first && c >= '0' && c <= '9';
    }

    private static boolean isLabelChar(char c, boolean first) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || !first && c >= '0' && c <= '9';
    }
}
