package io.dataversesync.sync;

import java.util.regex.Pattern;

/** Row ids go into Web API URLs: only a canonical GUID may pass, nothing that could change the path. */
public final class Guids {
    private static final Pattern GUID = Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    private Guids() {
    }

    public static boolean isGuid(String value) {
        return value != null && GUID.matcher(value).matches();
    }

    /** Lower-case canonical form, accepting the braced form Dataverse tooling sometimes shows. */
    public static String normalize(String value) {
        if (value == null) {
            return null;
        }
        String v = value.trim();
        if (v.length() == 38 && v.startsWith("{") && v.endsWith("}")) {
            v = v.substring(1, 37);
        }
        return isGuid(v) ? v.toLowerCase() : null;
    }
}
