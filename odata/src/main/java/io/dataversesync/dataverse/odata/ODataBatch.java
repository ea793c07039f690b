package io.dataversesync.dataverse.odata;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * Reads and writes OData 4.0 multipart {@code $batch} bodies the way Dataverse documents them: a
 * {@code batch_...} boundary, optional change sets ({@code changeset_...}) whose parts carry a Content-ID, and
 * {@code application/http} parts holding one request (or response) each. Line endings may be CRLF or LF on input;
 * output always uses CRLF. Works for both sides so tests and clients can build requests and read answers.
 */
public final class ODataBatch {

    /** Dataverse refuses batches with more operations than this. */
    public static final int MAX_OPERATIONS = 1000;

    private static final String CRLF = "\r\n";

    private ODataBatch() {
    }

    /** One request inside a batch. {@code headers} have lower-case names; {@code body} is "" when absent. */
    public record Operation(String method, String url, Map<String, String> headers, String body, String contentId) {

        public Operation {
            headers = Map.copyOf(headers);
            body = body == null ? "" : body;
        }

        public static Operation of(String method, String url, String jsonBody) {
            Map<String, String> headers = jsonBody == null || jsonBody.isEmpty()
                    ? Map.of() : Map.of("content-type", "application/json");
            return new Operation(method, url, headers, jsonBody, null);
        }

        public Operation withContentId(String id) {
            return new Operation(method, url, headers, body, id);
        }

        public Operation withHeader(String name, String value) {
            Map<String, String> copy = new LinkedHashMap<>(headers);
            copy.put(name.toLowerCase(Locale.ROOT), value);
            return new Operation(method, url, copy, body, contentId);
        }

        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    /** A top-level element of a batch: one operation, or a change set of operations that succeed or fail together. */
    public record Item(List<Operation> operations, boolean changeSet) {

        public Item {
            operations = List.copyOf(operations);
        }

        public static Item single(Operation operation) {
            return new Item(List.of(operation), false);
        }

        public static Item changeSet(List<Operation> operations) {
            return new Item(operations, true);
        }
    }

    /** One answer inside a batch response. {@code headers} keep their given case. */
    public record OperationResult(int status, Map<String, String> headers, String body, String contentId) {

        public OperationResult {
            headers = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(headers));
            body = body == null ? "" : body;
        }

        /** Header by case-insensitive name, or null. */
        public String header(String name) {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name))
                    .map(Map.Entry::getValue).findFirst().orElse(null);
        }
    }

    /** A top-level element of a batch response: one answer, or the answers of a change set. */
    public record ItemResult(List<OperationResult> results, boolean changeSet) {

        public ItemResult {
            results = List.copyOf(results);
        }

        public static ItemResult single(OperationResult result) {
            return new ItemResult(List.of(result), false);
        }
    }

    /** The body is not a well-formed batch. */
    public static final class FormatException extends Exception {
        public FormatException(String message) {
            super(message);
        }
    }

    // ---------------------------------------------------------------- requests

    public static String newBatchBoundary() {
        return "batch_" + UUID.randomUUID();
    }

    /** Builds a request body (what a client sends). Use {@code multipart/mixed; boundary=<boundary>}. */
    public static String writeRequest(String boundary, List<Item> items) {
        StringBuilder out = new StringBuilder();
        for (Item item : items) {
            out.append("--").append(boundary).append(CRLF);
            if (item.changeSet()) {
                String inner = "changeset_" + UUID.randomUUID();
                out.append("Content-Type: multipart/mixed; boundary=").append(inner).append(CRLF).append(CRLF);
                int sequence = 0;
                for (Operation op : item.operations()) {
                    sequence++;
                    out.append("--").append(inner).append(CRLF);
                    String id = op.contentId() != null ? op.contentId() : String.valueOf(sequence);
                    appendRequestPart(out, op, id);
                }
                out.append("--").append(inner).append("--").append(CRLF);
            } else {
                appendRequestPart(out, item.operations().get(0), item.operations().get(0).contentId());
            }
        }
        out.append("--").append(boundary).append("--").append(CRLF);
        return out.toString();
    }

    private static void appendRequestPart(StringBuilder out, Operation op, String contentId) {
        out.append("Content-Type: application/http").append(CRLF);
        out.append("Content-Transfer-Encoding: binary").append(CRLF);
        if (contentId != null) {
            out.append("Content-ID: ").append(contentId).append(CRLF);
        }
        out.append(CRLF);
        out.append(op.method()).append(' ').append(op.url()).append(" HTTP/1.1").append(CRLF);
        op.headers().forEach((k, v) -> out.append(k).append(": ").append(v).append(CRLF));
        out.append(CRLF);
        if (!op.body().isEmpty()) {
            out.append(op.body()).append(CRLF);
        }
    }

    /** Parses a request body; {@code contentType} must be multipart/mixed with a boundary. */
    public static List<Item> parseRequest(String contentType, byte[] body) throws FormatException {
        String boundary = boundaryOf(contentType);
        if (boundary == null) {
            throw new FormatException("The batch request must have a multipart/mixed Content-Type with a boundary.");
        }
        List<Item> items = new ArrayList<>();
        for (MimePart part : splitMultipart(normalise(body), boundary)) {
            String partType = part.header("content-type");
            String inner = boundaryOf(partType);
            if (inner != null) {
                List<Operation> operations = new ArrayList<>();
                for (MimePart innerPart : splitMultipart(part.content(), inner)) {
                    if (boundaryOf(innerPart.header("content-type")) != null) {
                        throw new FormatException("Change sets cannot be nested.");
                    }
                    operations.add(parseRequestPart(innerPart, true));
                }
                if (operations.isEmpty()) {
                    throw new FormatException("A change set must contain at least one request.");
                }
                items.add(Item.changeSet(operations));
            } else {
                items.add(Item.single(parseRequestPart(part, false)));
            }
        }
        return items;
    }

    private static Operation parseRequestPart(MimePart part, boolean inChangeSet) throws FormatException {
        String type = part.header("content-type");
        if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("application/http")) {
            throw new FormatException("Each batch part must have Content-Type application/http.");
        }
        HttpMessage message = HttpMessage.parse(part.content());
        String[] requestLine = message.startLine().trim().split("\\s+");
        if (requestLine.length < 2) {
            throw new FormatException("Malformed request line in batch part: '" + message.startLine() + "'.");
        }
        String contentId = part.header("content-id") != null ? part.header("content-id") : message.headers().get("content-id");
        if (inChangeSet && contentId == null) {
            throw new FormatException("Content-ID header not present in a change set request.");
        }
        return new Operation(requestLine[0].toUpperCase(Locale.ROOT), requestLine[1], message.headers(),
                message.body(), contentId);
    }

    /** Number of operations, change set members included. */
    public static int operationCount(List<Item> items) {
        return items.stream().mapToInt(item -> item.operations().size()).sum();
    }

    // ---------------------------------------------------------------- responses

    public static String newResponseBoundary() {
        return "batchresponse_" + UUID.randomUUID();
    }

    /** Builds a response body; send it with {@code multipart/mixed; boundary=<boundary>}. */
    public static byte[] writeResponse(String boundary, List<ItemResult> items) {
        StringBuilder out = new StringBuilder();
        for (ItemResult item : items) {
            out.append("--").append(boundary).append(CRLF);
            if (item.changeSet()) {
                String inner = "changesetresponse_" + UUID.randomUUID();
                out.append("Content-Type: multipart/mixed; boundary=").append(inner).append(CRLF).append(CRLF);
                for (OperationResult result : item.results()) {
                    out.append("--").append(inner).append(CRLF);
                    appendResponsePart(out, result);
                }
                out.append("--").append(inner).append("--").append(CRLF);
            } else {
                appendResponsePart(out, item.results().get(0));
            }
        }
        out.append("--").append(boundary).append("--").append(CRLF);
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void appendResponsePart(StringBuilder out, OperationResult result) {
        out.append("Content-Type: application/http").append(CRLF);
        out.append("Content-Transfer-Encoding: binary").append(CRLF);
        if (result.contentId() != null) {
            out.append("Content-ID: ").append(result.contentId()).append(CRLF);
        }
        out.append(CRLF);
        out.append("HTTP/1.1 ").append(result.status()).append(' ')
                .append(reasonPhrase(result.status())).append(CRLF);
        result.headers().forEach((k, v) -> out.append(k).append(": ").append(v).append(CRLF));
        out.append(CRLF);
        if (!result.body().isEmpty()) {
            out.append(result.body()).append(CRLF);
        }
    }

    /** Parses a response body into its items, in order. */
    public static List<ItemResult> parseResponse(String contentType, byte[] body) throws FormatException {
        String boundary = boundaryOf(contentType);
        if (boundary == null) {
            throw new FormatException("The batch response must have a multipart/mixed Content-Type with a boundary.");
        }
        List<ItemResult> items = new ArrayList<>();
        for (MimePart part : splitMultipart(normalise(body), boundary)) {
            String inner = boundaryOf(part.header("content-type"));
            if (inner != null) {
                List<OperationResult> results = new ArrayList<>();
                for (MimePart innerPart : splitMultipart(part.content(), inner)) {
                    results.add(parseResponsePart(innerPart));
                }
                items.add(new ItemResult(results, true));
            } else {
                items.add(ItemResult.single(parseResponsePart(part)));
            }
        }
        return items;
    }

    private static OperationResult parseResponsePart(MimePart part) throws FormatException {
        HttpMessage message = HttpMessage.parse(part.content());
        String[] statusLine = message.startLine().trim().split("\\s+", 3);
        if (statusLine.length < 2 || !statusLine[0].startsWith("HTTP/")) {
            throw new FormatException("Malformed status line in batch part: '" + message.startLine() + "'.");
        }
        try {
            return new OperationResult(Integer.parseInt(statusLine[1]), message.headers(), message.body(),
                    part.header("content-id"));
        } catch (NumberFormatException e) {
            throw new FormatException("Malformed status code: '" + statusLine[1] + "'.");
        }
    }

    // ---------------------------------------------------------------- MIME plumbing

    /** The boundary parameter of a multipart Content-Type, or null when it is not multipart/mixed. */
    public static String boundaryOf(String contentType) {
        if (contentType == null || !contentType.trim().toLowerCase(Locale.ROOT).startsWith("multipart/mixed")) {
            return null;
        }
        for (String parameter : contentType.split(";")) {
            String trimmed = parameter.trim();
            if (trimmed.toLowerCase(Locale.ROOT).startsWith("boundary=")) {
                String value = trimmed.substring("boundary=".length()).trim();
                if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
                    value = value.substring(1, value.length() - 1);
                }
                return value.isEmpty() ? null : value;
            }
        }
        return null;
    }

    private record MimePart(Map<String, String> headers, String content) {
        String header(String name) {
            return headers.get(name);
        }
    }

    /** Start line, lower-case headers and body of an embedded HTTP message. */
    private record HttpMessage(String startLine, Map<String, String> headers, String body) {

        static HttpMessage parse(String text) throws FormatException {
            String trimmed = stripLeadingNewlines(text);
            int headerEnd = trimmed.indexOf("\n\n");
            String head = headerEnd < 0 ? trimmed : trimmed.substring(0, headerEnd);
            String body = headerEnd < 0 ? "" : trimmed.substring(headerEnd + 2).strip();
            String[] lines = head.split("\n");
            if (lines.length == 0 || lines[0].isBlank()) {
                throw new FormatException("A batch part has no request or status line.");
            }
            return new HttpMessage(lines[0], parseHeaders(lines, 1), body);
        }
    }

    /** Splits a multipart body (LF line endings) into its parts, ignoring preamble and epilogue. */
    private static List<MimePart> splitMultipart(String text, String boundary) throws FormatException {
        String delimiter = "--" + boundary;
        List<MimePart> parts = new ArrayList<>();
        int position = findDelimiter(text, delimiter, 0);
        if (position < 0) {
            throw new FormatException("Boundary '" + boundary + "' not found in the body.");
        }
        while (true) {
            int afterDelimiter = position + delimiter.length();
            if (text.startsWith("--", afterDelimiter)) {
                return parts; // close delimiter
            }
            int lineEnd = text.indexOf('\n', afterDelimiter);
            if (lineEnd < 0) {
                throw new FormatException("Missing close delimiter for boundary '" + boundary + "'.");
            }
            int next = findDelimiter(text, delimiter, lineEnd);
            if (next < 0) {
                throw new FormatException("Missing close delimiter for boundary '" + boundary + "'.");
            }
            // the newline before a delimiter belongs to the delimiter
            String rawPart = text.substring(lineEnd + 1, Math.max(lineEnd + 1, next - 1));
            parts.add(parseMimePart(rawPart));
            position = next;
        }
    }

    private static int findDelimiter(String text, String delimiter, int from) {
        int index = from == 0 && text.startsWith(delimiter) ? 0 : text.indexOf("\n" + delimiter, from);
        while (index >= 0) {
            int start = text.charAt(index) == '\n' ? index + 1 : index;
            int end = start + delimiter.length();
            // the boundary must not merely be a prefix of a longer token
            if (end >= text.length() || "-\n \t".indexOf(text.charAt(end)) >= 0) {
                return start;
            }
            index = text.indexOf("\n" + delimiter, end);
        }
        return -1;
    }

    private static MimePart parseMimePart(String rawPart) {
        int headerEnd = rawPart.indexOf("\n\n");
        String head = headerEnd < 0 ? rawPart : rawPart.substring(0, headerEnd);
        String content = headerEnd < 0 ? "" : rawPart.substring(headerEnd + 2);
        return new MimePart(parseHeaders(head.split("\n"), 0), content);
    }

    private static Map<String, String> parseHeaders(String[] lines, int from) {
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = from; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.putIfAbsent(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT),
                        lines[i].substring(colon + 1).trim());
            }
        }
        return headers;
    }

    private static String stripLeadingNewlines(String text) {
        int i = 0;
        while (i < text.length() && text.charAt(i) == '\n') {
            i++;
        }
        return text.substring(i);
    }

    private static String normalise(byte[] body) {
        return new String(body, StandardCharsets.UTF_8).replace("\r\n", "\n");
    }

    /** Standard reason phrase, for status lines inside $batch answers. */
    public static String reasonPhrase(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 201 -> "Created";
            case 204 -> "No Content";
            case 304 -> "Not Modified";
            case 400 -> "Bad Request";
            case 401 -> "Unauthorized";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 409 -> "Conflict";
            case 412 -> "Precondition Failed";
            case 413 -> "Payload Too Large";
            case 415 -> "Unsupported Media Type";
            case 422 -> "Unprocessable Entity";
            case 429 -> "Too Many Requests";
            case 500 -> "Internal Server Error";
            case 501 -> "Not Implemented";
            case 502 -> "Bad Gateway";
            case 503 -> "Service Unavailable";
            case 504 -> "Gateway Timeout";
            default -> "Status " + status;
        };
    }
}
