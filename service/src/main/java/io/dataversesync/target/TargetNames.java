package io.dataversesync.target;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Names of targets (and saga steps): they become queue and subscription names, route ids, property keys, metric
 * tags and folder names, so they are kept to lower-case letters, digits and dashes.
 */
public final class TargetNames {
    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9-]{0,39}");

    private TargetNames() {
    }

    /** A comma-separated list of names (sync.targets): each valid, none twice, at least one. */
    public static List<String> parse(String commaSeparated) {
        LinkedHashSet<String> names = new LinkedHashSet<>();
        for (String item : (commaSeparated == null ? "" : commaSeparated).split(",")) {
            String name = item.trim();
            if (name.isEmpty()) {
                continue;
            }
            if (!names.add(require(name))) {
                throw new IllegalArgumentException("target '" + name + "' is listed twice");
            }
        }
        if (names.isEmpty()) {
            throw new IllegalArgumentException("no target declared: sync.targets names at least one");
        }
        return new ArrayList<>(names);
    }

    public static String require(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("a target name is 1-40 lower-case letters, digits or dashes, starting with a letter; was '"
                    + (name == null ? "null" : name.length() > 60 ? name.substring(0, 60) + "..." : name) + "'");
        }
        return name;
    }

    public static boolean isValid(String name) {
        return name != null && NAME.matcher(name).matches();
    }
}
