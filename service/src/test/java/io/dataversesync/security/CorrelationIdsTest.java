package io.dataversesync.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.dataversesync.exchange.SyncProperties;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;

class CorrelationIdsTest {

    @Test
    void usualIdsAreKept() {
        for (String id : new String[] {"9f2c47d1-6a8b-4e55-b1f0-2d6f0c3e8a71", "{9F2C47D1-6A8B-4E55-B1F0-2D6F0C3E8A71}", "order-42:retry/1",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "a".repeat(128)}) {
            assertThat(CorrelationIds.checked(id)).isEqualTo(id);
        }
    }

    @Test
    void anythingElseIsReplacedTheSameWayEveryTime() {
        for (String id : new String[] {"a\r\nb", "ид", "with space", "quote\"", "a".repeat(129), "tab\t", "\u0000"}) {
            String replaced = CorrelationIds.checked(id);
            assertThat(replaced).isNotEqualTo(id).matches("[0-9a-f-]{36}").isEqualTo(CorrelationIds.checked(id));
            assertThat(CorrelationIds.isValid(replaced)).isTrue();
        }
        assertThat(CorrelationIds.checked(null)).isNull();
        assertThat(CorrelationIds.checked("  ")).isNull();
    }

    @Test
    void theReplacedOriginalIsKeptEscaped() {
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        String adopted = CorrelationIds.adopt(exchange, "x\r\ny");
        assertThat(exchange.getProperty(SyncProperties.CORRELATION_ID)).isEqualTo(adopted);
        assertThat(exchange.getProperty(CorrelationIds.ORIGINAL)).isEqualTo("x\\r\\ny");
        Exchange kept = new DefaultExchange(new DefaultCamelContext());
        CorrelationIds.adopt(kept, "ok-1");
        assertThat(kept.getProperty(CorrelationIds.ORIGINAL)).isNull();
    }
}
