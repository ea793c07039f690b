package io.dataversesync.emulator;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;

/**
 * Server-driven paging of collection GETs as Dataverse documents it
 * (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/page-results):
 * the client asks for a page size with {@code Prefer: odata.maxpagesize=N}; without it, or when N is over 5,000
 * (the service ignores such requests), a page holds up to 5,000 rows. When more rows remain, the answer carries
 * {@code @odata.nextLink}: the original URL with a {@code $skiptoken} the client must not change.
 * <p>
 * Dataverse's $skiptoken carries a paging cookie naming the last row of the page; ours is likewise keyset based
 * (base64url of the last primary key), so rows created or deleted between two pages neither repeat nor shift
 * rows of the next page, as long as rows are served in primary key order.
 */
final class ServerDrivenPaging {

    /** Dataverse's default and largest page for standard tables. */
    static final int MAX_PAGE_SIZE = 5000;

    static final String SKIP_TOKEN = "$skiptoken";

    /** A version prefix, so a token from some other server or a truncated one is refused rather than misread. */
    private static final String TOKEN_PREFIX = "dvemu1:";

    private ServerDrivenPaging() {
    }

    /**
     * The page size a {@code Prefer} header asks for, when the server applies it: 1..5,000. A larger, zero or
     * malformed value is ignored, as a server ignores preferences it does not honour (RFC 7240).
     */
    static OptionalInt requestedPageSize(String preferHeader) {
        if (preferHeader == null) {
            return OptionalInt.empty();
        }
        for (String preference : splitOutsideQuotes(preferHeader)) {
            int eq = preference.indexOf('=');
            if (eq < 0 || !preference.substring(0, eq).trim().equalsIgnoreCase("odata.maxpagesize")) {
                continue;
            }
            String value = preference.substring(eq + 1);
            int parameters = value.indexOf(';');
            value = (parameters < 0 ? value : value.substring(0, parameters)).trim().replace("\"", "");
            try {
                int size = Integer.parseInt(value);
                return size >= 1 && size <= MAX_PAGE_SIZE ? OptionalInt.of(size) : OptionalInt.empty();
            } catch (NumberFormatException e) {
                return OptionalInt.empty();
            }
        }
        return OptionalInt.empty();
    }

    /** Opaque token naming the last row served; the next page starts after it. */
    static String skipToken(String lastKey) {
        return Base64.getUrlEncoder().withoutPadding()
                .encodeToString((TOKEN_PREFIX + lastKey).getBytes(StandardCharsets.UTF_8));
    }

    /** The last key a token names. */
    static String lastKey(String token) {
        String decoded;
        try {
            decoded = new String(Base64.getUrlDecoder().decode(token.trim()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not a token of this server", e);
        }
        if (!decoded.startsWith(TOKEN_PREFIX) || decoded.length() == TOKEN_PREFIX.length()) {
            throw new IllegalArgumentException("not a token of this server");
        }
        return decoded.substring(TOKEN_PREFIX.length());
    }

    /**
     * The URL of the next page: every query option of the request kept as the client sent it (raw, so its own
     * encoding survives), a previous $skiptoken replaced by the new one.
     */
    static String nextLink(String collectionUrl, String rawQuery, String token) {
        StringBuilder query = new StringBuilder();
        if (rawQuery != null && !rawQuery.isEmpty()) {
            for (String pair : rawQuery.split("&")) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                if (!name.toLowerCase(Locale.ROOT).equals(SKIP_TOKEN)) {
                    query.append(pair).append('&');
                }
            }
        }
        query.append(SKIP_TOKEN).append('=').append(token);
        return collectionUrl + "?" + query;
    }

    /** Splits a Prefer value into preferences on commas outside double quotes. */
    private static List<String> splitOutsideQuotes(String header) {
        List<String> parts = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        boolean quoted = false;
        for (char c : header.toCharArray()) {
            if (c == '"') {
                quoted = !quoted;
            }
            if (c == ',' && !quoted) {
                parts.add(current.toString());
                current.setLength(0);
            } else {
                current.append(c);
            }
        }
        parts.add(current.toString());
        return parts;
    }
}
