package io.dataversesync.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpTimeoutException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;

import io.dataversesync.dataverse.DataverseException;
import org.apache.camel.http.base.HttpOperationFailedException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class ErrorClassifierTest {
    private final ErrorClassifier classifier = new ErrorClassifier(Clock.fixed(Instant.parse("2026-11-23T12:00:00Z"), ZoneOffset.UTC));

    @ParameterizedTest
    @CsvSource({"408,TRANSIENT", "429,TRANSIENT", "500,TRANSIENT", "502,TRANSIENT", "503,TRANSIENT", "504,TRANSIENT",
        "400,PERMANENT", "401,PERMANENT", "403,PERMANENT", "404,PERMANENT", "409,PERMANENT", "412,PERMANENT", "422,PERMANENT"})
    void httpStatusDecides(int status, FailureKind kind) {
        assertThat(classifier.classify(new DataverseException(status, "0x0", "x", null)).kind()).isEqualTo(kind);
        assertThat(classifier.classify(new HttpOperationFailedException("http://t", status, "s", null, Map.of(), "")).kind()).isEqualTo(kind);
    }

    @Test
    void retryAfterIsCarriedFromDataverseAndFromTheTarget() {
        assertThat(classifier.classify(new DataverseException(429, "0x80072322", "limit", Duration.ofSeconds(7))).retryAfter())
                .isEqualTo(Duration.ofSeconds(7));
        HttpOperationFailedException target = new HttpOperationFailedException("http://t", 429, "Too Many", null, Map.of("retry-after", "12"), "");
        assertThat(classifier.classify(target).retryAfter()).isEqualTo(Duration.ofSeconds(12));
        HttpOperationFailedException date = new HttpOperationFailedException("http://t", 503, "Busy", null,
                Map.of("Retry-After", "Mon, 23 Nov 2026 12:00:30 GMT"), "");
        assertThat(classifier.classify(date).retryAfter()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void networkAndBrokerFailuresAreTransientEvenWhenWrapped() {
        assertThat(classifier.classify(new RuntimeException("wrapped", new ConnectException("refused"))).reason()).isEqualTo("ConnectionFailed");
        assertThat(classifier.classify(new HttpTimeoutException("slow")).reason()).isEqualTo("Timeout");
        assertThat(classifier.classify(new jakarta.jms.JMSException("broker gone")).reason()).isEqualTo("BrokerUnavailable");
        assertThat(classifier.classify(new IOException("reset")).isTransient()).isTrue();
    }

    @Test
    void badInputAndMappingErrorsArePermanentWithTheirOwnReason() {
        assertThat(classifier.classify(new InvalidMessageException("bad")).reason()).isEqualTo("InvalidMessage");
        assertThat(classifier.classify(new MappingException("bad")).reason()).isEqualTo("MappingError");
        assertThat(classifier.classify(new RowDeletedException("gone")).kind()).isEqualTo(FailureKind.PERMANENT);
        assertThat(classifier.classify(new DataverseException(401, null, "no", null)).reason()).isEqualTo("DataverseUnauthorized");
    }

    @Test
    void unknownFailuresAreRetriedBoundedly() {
        Classification c = classifier.classify(new IllegalStateException("surprise"));
        assertThat(c.isTransient()).isTrue();
        assertThat(c.reason()).isEqualTo("Unclassified");
    }

    @Test
    void aValueRefusedAsAnIllegalArgumentIsPermanentNotTransient() {
        // what java.net.http answered to a correlation id with CR/LF (issue 11): retrying the same value cannot help
        Classification c = classifier.classify(new org.apache.camel.RuntimeCamelException(
                new IllegalArgumentException("invalid header value: \"cid\r\nX: y\"")));
        assertThat(c.kind()).isEqualTo(FailureKind.PERMANENT);
        assertThat(c.reason()).isEqualTo("InvalidValue");
        assertThat(classifier.classify(new NumberFormatException("x")).kind()).isEqualTo(FailureKind.PERMANENT);
    }
}
