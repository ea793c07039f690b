package io.dataversesync.policy;

import java.time.Duration;
import java.util.Optional;

import org.apache.camel.Exchange;

/**
 * A dependency that is down as a whole (a target whose circuit breaker is open) is not this message's fault: the
 * message is held, re-scheduled after the returned delay with its RetryCount unchanged, instead of spending a
 * retry or being dead-lettered.
 */
public interface Holds {
    Holds NONE = (exchange, failure) -> Optional.empty();

    Optional<Duration> holdFor(Exchange exchange, Throwable failure);
}
