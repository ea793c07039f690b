package io.dataversesync.policy;

/** The entity's mapping file failed on this row (syntax error, missing file, no object produced). */
public class MappingException extends PermanentSyncException {
    public MappingException(String message) {
        super("MappingError", message);
    }
}
