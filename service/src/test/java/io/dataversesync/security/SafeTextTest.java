package io.dataversesync.security;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SafeTextTest {

    @Test
    void lineBreaksAndControlsBecomeVisibleEscapes() {
        assertThat(SafeText.escape("a\r\nb\tc\u0000d\u0085e\u2028f\u202eg")).isEqualTo("a\\r\\nb\\tc\\u0000d\\u0085e\\u2028f\\u202eg");
        assertThat(SafeText.escape("plain ünïcode € text")).isEqualTo("plain ünïcode € text");
        assertThat(SafeText.escape(null)).isNull();
    }

    @Test
    void escapingTwiceChangesNothing() {
        String once = SafeText.escape("x\ny\\z");
        assertThat(SafeText.escape(once)).isEqualTo(once);
    }

    @Test
    void abbreviatesAfterEscaping() {
        assertThat(SafeText.abbreviate("\n\n\n", 4)).isEqualTo("\\n\\n...");
    }
}
