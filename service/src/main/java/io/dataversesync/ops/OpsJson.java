package io.dataversesync.ops;

/** Small helpers for what the operations API echoes back. */
final class OpsJson {
    private OpsJson() {
    }

    /** A value from a request, shortened and stripped of control characters before it goes into a message or log line. */
    static String abbreviate(String value) {
        if (value == null) {
            return "null";
        }
        String v = value.length() > 80 ? value.substring(0, 80) + "..." : value;
        return v.replaceAll("\\p{Cntrl}", "?");
    }
}
