package io.dataversesync.target;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.time.Instant;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

/**
 * The Retrying status with three targets (service mode): one target retrying makes the row's overall status Retrying,
 * and the healthy targets' Synced write-backs, queued behind it, keep it so (their overall status is computed from
 * every target's status); once the retry succeeds, Synced.
 */
class RetryingFanOutTest extends FanOutSupport {
    static {
        System.setProperty("sync.writeback.retrying-status.enabled", "true");
        System.setProperty("sync.policy.target-erp.base-delay-ms", "3000");
    }

    @Test
    void oneTargetRetryingMakesTheRowRetryingUntilItsRetrySucceeds() {
        clearTargets();
        ERP.faults().failNext("PUT", 1, 503);
        String id = createAccount("Fan-out Retrying");
        notifyChange("account", id);

        // customers and marketing are done, erp waits for its retry: the row says so
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> {
            ObjectNode row = row(id);
            return "Retrying".equals(row.path("new_erpstatus").asText()) && "Synced".equals(row.path("new_customersstatus").asText())
                    && "Synced".equals(row.path("new_marketingstatus").asText());
        });
        ObjectNode retrying = row(id);
        assertThat(retrying.path("new_syncstatus").asText()).isEqualTo("Retrying");
        assertThat(Instant.parse(retrying.path("new_syncnextattempt").asText())).isAfter(Instant.now().minusSeconds(5));
        assertThat(retrying.path("new_syncerror").asText()).startsWith("erp: ");

        await().atMost(Duration.ofSeconds(30)).until(() -> "Synced".equals(row(id).path("new_syncstatus").asText()));
        ObjectNode synced = row(id);
        assertThat(synced.path("new_erpstatus").asText()).isEqualTo("Synced");
        assertThat(synced.path("new_syncnextattempt").isNull()).isTrue();
        assertThat(synced.path("new_syncerror").isNull()).isTrue();
    }
}
