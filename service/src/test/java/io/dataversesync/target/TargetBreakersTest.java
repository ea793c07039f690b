package io.dataversesync.target;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import io.dataversesync.exchange.SyncProperties;
import io.dataversesync.policy.ErrorClassifier;
import io.github.resilience4j.bulkhead.BulkheadFullException;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.apache.camel.support.UnitOfWorkHelper;
import org.junit.jupiter.api.Test;

/**
 * The breaker's permission is taken before the row is read, the bulkhead's slot only for the call: a copy whose row
 * is being read again (which may wait a second for its read's batch) holds no slot, so the target's calls are not
 * bounded by its reads.
 */
class TargetBreakersTest {
    private final DefaultCamelContext camel = new DefaultCamelContext();
    private final TargetBreakers breakers = new TargetBreakers(new TargetCatalog(List.of(new TargetSettings("erp", Set.of("account"),
            new TargetSettings.Auth(TargetSettings.AuthMode.NONE, null, null, null, null, null, null, null, null),
            new TargetSettings.WriteBack("new_erpid", "new_erphash", null),
            new TargetSettings.Breaker(50, 20, 10, Duration.ofSeconds(10), 3), 1, Duration.ofMillis(50)))),
            new ErrorClassifier(Clock.systemUTC()), new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));

    @Test
    void anAdmittedMessageHoldsNoSlotUntilItsCallAndGivesItBackWhenItCompletes() {
        Exchange reading = exchange();
        breakers.admit(reading); // admitted, its row still being read

        Exchange calling = exchange();
        breakers.admit(calling);
        breakers.occupy(calling); // the one slot is free: the read does not hold it

        assertThatThrownBy(() -> breakers.occupy(reading)).isInstanceOf(BulkheadFullException.class);
        complete(calling); // e.g. stopped after its call, or failed: the slot comes back with the exchange
        breakers.occupy(reading);
        breakers.succeeded(reading); // a successful call gives its slot back at once

        Exchange next = exchange();
        breakers.admit(next);
        breakers.occupy(next);
        complete(reading);
        complete(next);
        assertThat(breakers.state("erp")).isEqualTo(io.github.resilience4j.circuitbreaker.CircuitBreaker.State.CLOSED);
    }

    private Exchange exchange() {
        Exchange exchange = new DefaultExchange(camel);
        exchange.setProperty(SyncProperties.TARGET, "erp");
        return exchange;
    }

    private static void complete(Exchange exchange) {
        UnitOfWorkHelper.doneSynchronizations(exchange, exchange.getExchangeExtension().handoverCompletions());
    }
}
