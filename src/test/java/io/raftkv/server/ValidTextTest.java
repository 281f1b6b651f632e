package io.raftkv.server;

import org.junit.jupiter.api.Test;

import java.util.Optional;
import java.util.OptionalInt;

import static org.assertj.core.api.Assertions.assertThat;

/** Which strings and queries are valid Unicode text, and which parameter is named when one is not. */
class ValidTextTest {
    @Test
    void loneSurrogatesAreFoundAndPairsAreNot() {
        assertThat(ValidText.loneSurrogateIndex("")).isEmpty();
        assertThat(ValidText.loneSurrogateIndex("plain é € \uD83D\uDE00 end")).isEmpty();
        assertThat(ValidText.loneSurrogateIndex("sur\uD800")).isEqualTo(OptionalInt.of(3));
        assertThat(ValidText.loneSurrogateIndex("\uDC00x")).isEqualTo(OptionalInt.of(0));
        assertThat(ValidText.loneSurrogateIndex("x\uDE00\uD83D")).as("a pair in the wrong order").isEqualTo(OptionalInt.of(1));
        assertThat(ValidText.loneSurrogateIndex("\uD83D\uDE00\uD83D")).isEqualTo(OptionalInt.of(2));
        assertThat(ValidText.loneSurrogateIndex("\uD83D\uD83D\uDE00")).isEqualTo(OptionalInt.of(0));
    }

    @Test
    void decodeStrictTakesUtf8AndRefusesEverythingElse() {
        assertThat(ValidText.decodeStrict("caf%C3%A9+x%2B")).hasValue("café x+");
        assertThat(ValidText.decodeStrict("%F0%9F%98%80%EF%BF%BD")).hasValue("\uD83D\uDE00\uFFFD");
        assertThat(ValidText.decodeStrict("")).hasValue("");
        for (String bad : new String[] {"%FF", "%ED%A0%80", "%C3", "%C0%80", "a%E2%82", "%F4%90%80%80", "caf\u00e9", "%", "%4", "%zz"}) {
            assertThat(ValidText.decodeStrict(bad)).as("decoding %s", bad).isEmpty();
        }
    }

    @Test
    void theFirstParameterThatIsNotUtf8IsNamed() {
        assertThat(ValidText.firstParameterNotUtf8("")).isEmpty();
        assertThat(ValidText.firstParameterNotUtf8("key=caf%C3%A9&consistency=stale")).isEmpty();
        assertThat(ValidText.firstParameterNotUtf8("key=%FF")).hasValue("key");
        assertThat(ValidText.firstParameterNotUtf8("key=a&consistency=%C3")).hasValue("consistency");
        assertThat(ValidText.firstParameterNotUtf8("key=a;consistency=%C3")).hasValue("consistency");
        assertThat(ValidText.firstParameterNotUtf8("k%C3%A9y=%FF")).hasValue("kéy");
        assertThat(ValidText.firstParameterNotUtf8("%FF=x")).isEqualTo(Optional.of("%FF"));
        assertThat(ValidText.firstParameterNotUtf8("key&x=1")).isEmpty();
    }
}
