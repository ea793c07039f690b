package io.dataversesync.reconcile;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dataversesync.target.TargetAuth;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.support.DefaultExchange;

/**
 * Reads what a target holds, by its read contract ({@link TargetReadContract}): a paged listing, or records by key.
 * GETs only, with the target's own credentials (TargetAuth, as its calls); a next page's link must stay on the
 * target's host, so a target's answer can never send its credentials elsewhere.
 */
public class TargetReader {
    /** What a target holds for one key. */
    public record Record(String key, DriftClassifier.Held held) {
    }

    /** Receives one page of a listing. */
    public interface PageHandler {
        void page(List<Record> records) throws Exception;
    }

    /** A target that could not be read: the run fails (nothing is corrected from half a listing). */
    public static class TargetReadException extends IOException {
        public TargetReadException(String message) {
            super(message);
        }
    }

    private final HttpClient http;
    private final TargetAuth auth;
    private final CamelContext context;
    private final ObjectMapper json;
    private final Function<String, String> property;

    public TargetReader(HttpClient http, TargetAuth auth, CamelContext context, ObjectMapper json, Function<String, String> property) {
        this.http = http;
        this.auth = auth;
        this.context = context;
        this.json = json;
        this.property = property;
    }

    /** Every record of the listing, page by page; returns the number of requests it took. */
    public int list(TargetReadContract contract, String entity, PageHandler handler) throws Exception {
        URI base = baseUri(contract.target());
        String first = contract.listPath().replace("{pageSize}", String.valueOf(contract.pageSize()))
                .replace("{entity}", URLEncoder.encode(entity, StandardCharsets.UTF_8));
        URI next = base.resolve(first);
        int requests = 0;
        while (next != null) {
            JsonNode body = get(contract, next);
            requests++;
            handler.page(records(contract, body));
            String link = body.path(contract.nextLinkField()).asText(null);
            next = link == null || link.isBlank() ? null : onSameHost(base, base.resolve(link), contract.target());
        }
        return requests;
    }

    /** The records the target holds among {@code keys} (absent keys: it holds nothing for them). */
    public Map<String, DriftClassifier.Held> byIds(TargetReadContract contract, String entity, Collection<String> keys) throws Exception {
        URI base = baseUri(contract.target());
        Map<String, DriftClassifier.Held> held = new HashMap<>();
        List<String> all = new ArrayList<>(keys);
        for (int from = 0; from < all.size(); from += contract.pageSize()) {
            StringBuilder ids = new StringBuilder();
            for (String key : all.subList(from, Math.min(all.size(), from + contract.pageSize()))) {
                ids.append(ids.length() == 0 ? "" : ",").append(URLEncoder.encode(key, StandardCharsets.UTF_8));
            }
            String path = contract.byIdsPath().replace("{sourceRowIds}", ids).replace("{entity}", URLEncoder.encode(entity, StandardCharsets.UTF_8));
            for (Record r : records(contract, get(contract, base.resolve(path)))) {
                held.put(r.key(), r.held());
            }
        }
        return held;
    }

    private List<Record> records(TargetReadContract contract, JsonNode body) throws TargetReadException {
        JsonNode items = body.path(contract.itemsField());
        if (!items.isArray()) {
            throw new TargetReadException("target " + contract.target() + ": its answer has no array '" + contract.itemsField() + "'");
        }
        List<Record> records = new ArrayList<>(items.size());
        for (JsonNode item : items) {
            String key = item.path(contract.keyField()).asText(null);
            if (key == null) {
                continue; // not a record of ours: nothing to compare
            }
            records.add(new Record(key.toLowerCase(Locale.ROOT), new DriftClassifier.Held(deleted(contract, item), item)));
        }
        return records;
    }

    private static boolean deleted(TargetReadContract contract, JsonNode item) {
        if (contract.deletedField() == null) {
            return false;
        }
        JsonNode flag = item.get(contract.deletedField());
        return flag != null && !flag.isNull() && !(flag.isBoolean() && !flag.asBoolean());
    }

    private JsonNode get(TargetReadContract contract, URI uri) throws Exception {
        Exchange credentials = new DefaultExchange(context);
        auth.apply(credentials, contract.target());
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).GET()
                .timeout(Duration.ofMillis(Long.parseLong(property.apply("sync.target." + contract.target() + ".response-timeout-ms").trim())))
                .header("Accept", "application/json");
        credentials.getMessage().getHeaders().forEach((name, value) -> {
            if (value instanceof String text) {
                request.header(name, text);
            }
        });
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new TargetReadException("target " + contract.target() + " answered " + response.statusCode() + " to GET " + uri.getRawPath());
        }
        return json.readTree(response.body());
    }

    private URI baseUri(String target) {
        String url = property.apply("sync.target." + target + ".url").trim();
        return URI.create(url.endsWith("/") ? url : url + "/");
    }

    private static URI onSameHost(URI base, URI next, String target) throws TargetReadException {
        if (!base.getScheme().equalsIgnoreCase(next.getScheme()) || !base.getRawAuthority().equalsIgnoreCase(next.getRawAuthority())) {
            throw new TargetReadException("target " + target + " named a next page on another host: not followed");
        }
        return next;
    }
}
