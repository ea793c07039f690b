package io.dataversesync.security;

/**
 * Text from outside (message bodies and properties, ids, a service's answer, exception messages quoting them) made
 * safe to put into a log line, an exception message, a dead-letter reason or description: control characters and
 * Unicode line/paragraph separators become visible escapes ({@code \r}, {@code \n}, {@code \t}, {@code \u2028}), so a
 * value can never start a line of its own that looks like one of the service's. Other characters are kept (the log
 * formats are UTF-8).
 * <p>
 * Idempotent on purpose: an already escaped text has no control characters left, so applying it again where
 * texts are assembled (SyncPolicy's description) changes nothing. The price is that a literal backslash-n in the
 * input reads like an escaped line feed; for diagnosis that is good enough. The log layouts escape every line as
 * well (log4j2.properties: {@code %enc{...}{CRLF}}; the JSON layout escapes by JSON's rules): this class is for the
 * places where text leaves the process by other ways (dead letters, the row's error column) and where it is quoted
 * into exception messages.
 */
public final class SafeText {
    private SafeText() {
    }

    /** The text with every control or line-breaking character escaped; null stays null. */
    public static String escape(String s) {
        if (s == null) {
            return null;
        }
        StringBuilder out = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            String replacement = switch (c) {
                case '\r' -> "\\r";
                case '\n' -> "\\n";
                case '\t' -> "\\t";
                default -> needsEscape(c) ? String.format("\\u%04x", (int) c) : null;
            };
            if (replacement != null && out == null) {
                out = new StringBuilder(s.length() + 16).append(s, 0, i);
            }
            if (out != null) {
                if (replacement != null) {
                    out.append(replacement);
                } else {
                    out.append(c);
                }
            }
        }
        return out == null ? s : out.toString();
    }

    /** Escaped, then cut to at most {@code max} characters (plus "..."). */
    public static String abbreviate(String s, int max) {
        String e = escape(s);
        return e == null || e.length() <= max ? e : e.substring(0, max) + "...";
    }

    private static boolean needsEscape(char c) {
        // C0, DEL and C1 controls (NEL U+0085 breaks lines in some viewers), line and paragraph separators, and the
        // bidi overrides that make a log line display something else than it says
        return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029'
                || (c >= '\u202a' && c <= '\u202e') || (c >= '\u2066' && c <= '\u2069');
    }
}
