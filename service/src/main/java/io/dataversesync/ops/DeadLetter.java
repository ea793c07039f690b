package io.dataversesync.ops;

import java.time.Instant;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * One dead-lettered message as the operations API shows it, the same for both transports. What a dead letter
 * carries is set by the policy (routes/retry-policy.camel.yaml, {@code policy-dead-letter}) and the transport
 * ({@code transport-dead-letter}): the reason ({@code DeadLetterReason}), the description
 * ({@code DeadLetterErrorDescription}: {@code hop=..; retryCount=..; correlationId=..; failure=REASON (kind); Exception: message}),
 * the queue it came from, RetryCount, the correlation id, and the body (entity and row id). A message the broker
 * dead-lettered itself (delivered too often without a commit) has no reason of ours: it is shown as
 * {@value #MAX_DELIVERIES}, Service Bus' own name for it.
 *
 * @param id             Artemis: the JMSMessageID's UUID; Service Bus: the MessageId
 * @param sequenceNumber Service Bus' sequence number in the dead-letter subqueue (null on Artemis)
 * @param source         the queue (or subscription queue) it was dead-lettered from
 * @param exceptionType  the exception's simple class name from the description ("" when unknown)
 * @param properties     the message's own properties (for the detail view and the replay)
 */
public record DeadLetter(String id, Long sequenceNumber, String queue, String source, String reason, String description, String hop,
        int retryCount, int replayCount, String correlationId, String entity, String sourceRowId, Instant deadLetteredAt,
        String exceptionType, Map<String, Object> properties, String body) {

    public static final String MAX_DELIVERIES = "MaxDeliveryCountExceeded";
    public static final String REASON = "DeadLetterReason";
    public static final String DESCRIPTION = "DeadLetterErrorDescription";
    public static final String SOURCE = "DeadLetterSource";
    public static final String RETRY_COUNT = "RetryCount";
    /** Set on a replayed message: how often it was replayed, and the reason of the dead letter it was replayed from. */
    public static final String REPLAY_COUNT = io.dataversesync.transport.Transport.REPLAY_COUNT_PROPERTY;
    public static final String ORIGINAL_REASON = io.dataversesync.transport.Transport.ORIGINAL_REASON_PROPERTY;

    private static final Pattern HOP = Pattern.compile("(?:^|; )hop=([^;]*)");
    private static final Pattern EXCEPTION = Pattern.compile("failure=[^;]*; ([A-Za-z_$][A-Za-z0-9_$.]*)(?::|;|$)");
    /** Service Bus: the reason as 4.17's consumer writes it (docs/decisions.md, "Service Bus dead letters"). */
    private static final String REQUESTED_PREFIX = "io.dataversesync.transport.ServiceBusTransport$DeadLetterRequested: ";
    private static final Pattern SB_DESCRIPTION = Pattern.compile("^dead-letter\\.description\\((.*)\\)$", Pattern.DOTALL);

    /** The reason without the wrapping 4.17's Service Bus consumer adds; {@value #MAX_DELIVERIES} when there is none. */
    public static String normalizeReason(String reason) {
        if (reason == null || reason.isBlank()) {
            return MAX_DELIVERIES;
        }
        return reason.startsWith(REQUESTED_PREFIX) ? reason.substring(REQUESTED_PREFIX.length()) : reason;
    }

    /** The description without the synthetic stack frame 4.17's Service Bus consumer wraps it in. */
    public static String normalizeDescription(String description) {
        if (description == null) {
            return "";
        }
        Matcher m = SB_DESCRIPTION.matcher(description.strip());
        return m.matches() ? m.group(1) : description;
    }

    public static String hopOf(String description) {
        Matcher m = HOP.matcher(description == null ? "" : description);
        return m.find() ? m.group(1).trim() : "";
    }

    public static String exceptionTypeOf(String description) {
        Matcher m = EXCEPTION.matcher(description == null ? "" : description);
        return m.find() ? m.group(1) : "";
    }

    /** Entity and row id from the body: a notification, a change or an acknowledgement (our JSON) or a RemoteExecutionContext. */
    public static String[] keysOf(ObjectMapper json, String body) {
        try {
            JsonNode node = json.readTree(body == null ? "" : body);
            if (node == null || !node.isObject()) {
                return new String[] {"", ""};
            }
            if (node.has("PrimaryEntityName") || node.has("PrimaryEntityId")) {
                return new String[] {node.path("PrimaryEntityName").asText(""), node.path("PrimaryEntityId").asText("")};
            }
            return new String[] {node.path("entity").asText(""), node.path("sourceRowId").asText("")};
        } catch (Exception e) {
            return new String[] {"", ""};
        }
    }

    public static int intOf(Object value) {
        if (value instanceof Number n) {
            return (int) Math.max(0, Math.min(Integer.MAX_VALUE, n.longValue()));
        }
        if (value instanceof String s) {
            try {
                return Math.max(0, Integer.parseInt(s.trim()));
            } catch (NumberFormatException e) {
                return 0;
            }
        }
        return 0;
    }
}
