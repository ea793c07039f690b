package io.dataversesync.dataverse;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpHeaders;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class RateLimitHeadersTest {

    @Test
    void valuesAreReadLeniently() {
        assertThat(RateLimitHeaders.parse("1199995")).isEqualTo(1_199_995);
        assertThat(RateLimitHeaders.parse("1199995.00")).isEqualTo(1_199_995);
        assertThat(RateLimitHeaders.parse("1,199,995.00")).isEqualTo(1_199_995);
        assertThat(RateLimitHeaders.parse(" 1,199,995 ")).isEqualTo(1_199_995);
        assertThat(RateLimitHeaders.parse("5999.75")).isEqualTo(5999);
        assertThat(RateLimitHeaders.parse("42.")).isEqualTo(42);
        assertThat(RateLimitHeaders.parse("0")).isZero();
        assertThat(RateLimitHeaders.parse("-3")).isZero();
        assertThat(RateLimitHeaders.parse("99999999999999999999999")).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void missingOrUnreadableMeansUnknownNotZero() {
        assertThat(RateLimitHeaders.parse(null)).isEqualTo(RateLimitHeaders.UNKNOWN);
        assertThat(RateLimitHeaders.parse("")).isEqualTo(RateLimitHeaders.UNKNOWN);
        assertThat(RateLimitHeaders.parse("abc")).isEqualTo(RateLimitHeaders.UNKNOWN);
        assertThat(RateLimitHeaders.parse("1199995,00")).as("a decimal comma is ambiguous").isEqualTo(RateLimitHeaders.UNKNOWN);
        assertThat(RateLimitHeaders.parse("1,19,995")).isEqualTo(RateLimitHeaders.UNKNOWN);
        assertThat(RateLimitHeaders.parse(".5")).isEqualTo(RateLimitHeaders.UNKNOWN);
        assertThat(RateLimitHeaders.parse("1e6")).isEqualTo(RateLimitHeaders.UNKNOWN);
    }

    @Test
    void theTimeIsScaledToMillisecondsBeforeTheFractionIsDropped() {
        assertThat(RateLimitHeaders.parse("1,200.00", 1000)).isEqualTo(1_200_000); // Dataverse: seconds
        assertThat(RateLimitHeaders.parse("1,199.46", 1000)).isEqualTo(1_199_460);
        assertThat(RateLimitHeaders.parse("0.005", 1000)).isEqualTo(5);
        assertThat(RateLimitHeaders.parse("1,199,995.00", 1)).isEqualTo(1_199_995); // a server that reports ms
        assertThat(RateLimitHeaders.parse("n/a", 1000)).isEqualTo(RateLimitHeaders.UNKNOWN);
    }

    @Test
    void bothHeadersAreReadFromAnAnswer() {
        // as Dataverse answers a first request (Microsoft's captured response): 5999 requests, 1,200 s left
        HttpHeaders headers = HttpHeaders.of(Map.of(
                "X-MS-RateLimit-Burst-Remaining-xrm-Requests", List.of("5999"),
                "x-ms-ratelimit-time-remaining-xrm-requests", List.of("1,200.00")), (k, v) -> true);
        assertThat(RateLimitHeaders.read(headers, 1000)).isEqualTo(new RateLimitHeaders.Remaining(5999, 1_200_000));

        RateLimitHeaders.Remaining none = RateLimitHeaders.read(HttpHeaders.of(Map.of(), (k, v) -> true), 1000);
        assertThat(none.hasRequests()).isFalse();
        assertThat(none.hasExecutionMs()).isFalse();
    }
}
