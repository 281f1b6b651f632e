package io.raftkv.server;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Keys and values are Unicode text, stored as UTF-8. Text that is not valid Unicode - a UTF-16
 * surrogate without its other half (a JSON string with the escape of U+D800 alone), or
 * percent-encoded bytes that are not UTF-8 ({@code %FF}, an encoded surrogate {@code %ED%A0%80})
 * - cannot be stored as sent: Java would silently turn it into {@code ?} or U+FFFD. It is refused
 * instead, naming the field.
 */
final class ValidText {
    private ValidText() {}

    /** The index of the first surrogate in {@code s} that is not half of a pair, if any. */
    static OptionalInt loneSurrogateIndex(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!Character.isSurrogate(c)) continue;
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
                continue;
            }
            return OptionalInt.of(i);
        }
        return OptionalInt.empty();
    }

    /**
     * The name of the first parameter of {@code rawQuery} (as sent, still percent-encoded) whose
     * name or value is not UTF-8 once percent-decoded, if any. Raw non-ASCII characters count as
     * not percent-encoded, so as invalid. Separators are {@code &} and {@code ;} (as Netty's
     * QueryStringDecoder splits); being ASCII, they cannot cut a valid UTF-8 sequence.
     */
    static Optional<String> firstParameterNotUtf8(String rawQuery) {
        if (rawQuery.isEmpty()) return Optional.empty();
        for (String component : rawQuery.split("[&;]")) {
            int eq = component.indexOf('=');
            String rawName = eq < 0 ? component : component.substring(0, eq);
            Optional<String> name = decodeStrict(rawName);
            if (name.isEmpty()) return Optional.of(rawName);
            if (eq >= 0 && decodeStrict(component.substring(eq + 1)).isEmpty()) return name;
        }
        return Optional.empty();
    }

    /** Percent-decodes {@code s} ({@code +} is a space) and decodes the bytes as UTF-8; empty if they are not UTF-8. */
    static Optional<String> decodeStrict(String s) {
        byte[] bytes = new byte[s.length()];
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                int hi = i + 2 < s.length() ? Character.digit(s.charAt(i + 1), 16) : -1;
                int lo = hi >= 0 ? Character.digit(s.charAt(i + 2), 16) : -1;
                if (lo < 0) return Optional.empty();
                bytes[n++] = (byte) (hi << 4 | lo);
                i += 2;
            } else if (c == '+') {
                bytes[n++] = ' ';
            } else if (c < 0x80) {
                bytes[n++] = (byte) c;
            } else {
                return Optional.empty();
            }
        }
        try {
            return Optional.of(StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes, 0, n)).toString());
        } catch (CharacterCodingException e) {
            return Optional.empty();
        }
    }
}
