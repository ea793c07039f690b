package io.dataversesync.emulator;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Base64;

/**
 * Change tracking of collection GETs as Dataverse documents it ("Use change tracking to synchronize data with
 * external systems", https://learn.microsoft.com/power-apps/developer/data-platform/use-change-tracking-synchronize-data-external-systems):
 * {@code Prefer: odata.track-changes} on a collection GET returns the rows and, with the last page,
 * {@code @odata.deltaLink}; a GET on that link returns the rows created or updated since, then
 * {@code $deletedEntity} entries ({@code id}, {@code reason: "deleted"}) for the rows deleted since, and a new delta
 * link. {@code $filter}, {@code $orderby}, {@code $expand} and {@code $top} are refused with the documented message.
 * A token older than the organization's {@code ExpireChangeTrackingInDays} (7 days by default) is refused with
 * {@code ExpiredVersionStamp} (0x80044352, "Version stamp associated with the client has expired. Please perform a
 * full sync."); so is a token this server never issued. The client then reads everything again.
 * <p>
 * The token looks like Dataverse's ({@code 919042!08/22/2017 08:10:44}: the data version, then when it was issued),
 * and is as opaque to clients. Its version is the store's version number when the tracked read began, so rows
 * changed while a paged initial read is under way come again with the first delta.
 */
final class ChangeTracking {

    static final String DELTA_TOKEN = "$deltatoken";
    static final String CODE_EXPIRED_VERSION_STAMP = "0x80044352";
    static final String EXPIRED_MESSAGE = "Version stamp associated with the client has expired. Please perform a full sync.";

    private static final DateTimeFormatter ISSUED = DateTimeFormatter.ofPattern("MM/dd/yyyy HH:mm:ss").withZone(ZoneOffset.UTC);
    /** Paging tokens of tracked reads carry the data version the read started at (a prefix of their own). */
    private static final String PAGE_PREFIX = "dvemu1ct:";

    private ChangeTracking() {
    }

    /** A delta token: the data version and when it was issued. */
    record Token(long version, Instant issued) {
        String text() {
            return version + "!" + ISSUED.format(issued);
        }

        /** URL-encoded as Dataverse shows it in the delta link (a space as %20, never '+'). */
        String encoded() {
            return URLEncoder.encode(text(), StandardCharsets.UTF_8).replace("+", "%20");
        }

        static Token parse(String text) {
            if (text == null) {
                throw new IllegalArgumentException("no token");
            }
            int bang = text.indexOf('!');
            if (bang <= 0) {
                throw new IllegalArgumentException("not a token of this server");
            }
            try {
                long version = Long.parseLong(text.substring(0, bang).trim());
                Instant issued = Instant.from(ISSUED.parse(text.substring(bang + 1).trim()));
                return new Token(version, issued);
            } catch (NumberFormatException | DateTimeParseException e) {
                throw new IllegalArgumentException("not a token of this server", e);
            }
        }
    }

    /**
     * A $skiptoken of a tracked read: where the page ends ({@code after}: the last primary key of an initial read, or
     * the last version served of a delta read) and the token the read will end with.
     */
    record Page(String after, Token token) {
        String skipToken() {
            return Base64.getUrlEncoder().withoutPadding().encodeToString(
                    (PAGE_PREFIX + token.version() + "|" + token.issued().getEpochSecond() + "|" + after).getBytes(StandardCharsets.UTF_8));
        }

        /** Null when the token is not one of a tracked read (a plain paging token). */
        static Page parse(String skipToken) {
            String decoded;
            try {
                decoded = new String(Base64.getUrlDecoder().decode(skipToken.trim()), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                return null;
            }
            if (!decoded.startsWith(PAGE_PREFIX)) {
                return null;
            }
            String[] parts = decoded.substring(PAGE_PREFIX.length()).split("\\|", 3);
            if (parts.length != 3) {
                return null;
            }
            try {
                return new Page(parts[2], new Token(Long.parseLong(parts[0]), Instant.ofEpochSecond(Long.parseLong(parts[1]))));
            } catch (NumberFormatException e) {
                return null;
            }
        }
    }
}
