package io.dataversesync.dataverse;

import java.math.BigDecimal;
import java.net.http.HttpHeaders;
import java.util.regex.Pattern;

/**
 * The remaining service protection budget Dataverse reports on every answer:
 * {@code x-ms-ratelimit-burst-remaining-xrm-requests} (requests left in the user's sliding window) and
 * {@code x-ms-ratelimit-time-remaining-xrm-requests} (combined execution time left). Dataverse writes the time in
 * seconds with a thousands separator and two decimals ({@code 1,200.00} on a fresh window = the 1,200,000 ms
 * limit, Microsoft's captured answer in "Use Fiddler" of learn.microsoft.com/power-apps/developer/data-platform/webapi/use-ps-and-vscode-web-api),
 * so the caller says how many milliseconds one unit of that header is (dataverse.limits.time-remaining-unit-ms).
 * Values are read leniently: {@code 1199995}, {@code 1199995.00} and {@code 1,199,995.00} are the same number; a
 * missing or unreadable header is "unknown", never zero. A comma counts only as a thousands separator (groups of
 * three digits): {@code 1199995,00} is ambiguous and therefore unknown rather than read 100 times too large.
 */
public final class RateLimitHeaders {
    public static final String REQUESTS_REMAINING = "x-ms-ratelimit-burst-remaining-xrm-requests";
    public static final String TIME_REMAINING = "x-ms-ratelimit-time-remaining-xrm-requests";

    /** What one answer reported, requests and execution milliseconds; {@link #UNKNOWN} (-1) where it said nothing usable. */
    public record Remaining(long requests, long executionMs) {
        public boolean hasRequests() {
            return requests >= 0;
        }

        public boolean hasExecutionMs() {
            return executionMs >= 0;
        }
    }

    public static final long UNKNOWN = -1;
    public static final Remaining NOTHING = new Remaining(UNKNOWN, UNKNOWN);

    private static final Pattern NUMBER = Pattern.compile("[+]?(\\d{1,3}(,\\d{3})+|\\d+)(\\.\\d*)?");

    private RateLimitHeaders() {
    }

    /** @param timeUnitMs milliseconds per unit of the time-remaining header (1000: Dataverse reports seconds) */
    public static Remaining read(HttpHeaders headers, long timeUnitMs) {
        return new Remaining(parse(headers.firstValue(REQUESTS_REMAINING).orElse(null)),
                parse(headers.firstValue(TIME_REMAINING).orElse(null), timeUnitMs));
    }

    /** The whole number a header value holds (fraction dropped, negative read as 0), or {@link #UNKNOWN}. */
    public static long parse(String value) {
        return parse(value, 1);
    }

    /** The value times {@code unit}, fraction dropped afterwards (1,199.46 s = 1199460 ms), or {@link #UNKNOWN}. */
    public static long parse(String value, long unit) {
        BigDecimal number = number(value);
        if (number == null) {
            return UNKNOWN;
        }
        BigDecimal scaled = number.multiply(BigDecimal.valueOf(unit));
        return scaled.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) >= 0 ? Long.MAX_VALUE : scaled.longValue();
    }

    private static BigDecimal number(String value) {
        if (value == null) {
            return null;
        }
        String v = value.trim();
        boolean negative = v.startsWith("-");
        if (negative) {
            v = v.substring(1);
        }
        if (!NUMBER.matcher(v).matches()) {
            return null;
        }
        // a negative remainder can only mean "nothing left"
        return negative ? BigDecimal.ZERO : new BigDecimal(v.replace(",", "").replace("+", ""));
    }
}
