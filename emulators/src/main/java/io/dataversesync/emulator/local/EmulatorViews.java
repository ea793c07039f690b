package io.dataversesync.emulator.local;

/**
 * What routes/local/emulator-views.camel.yaml shows on the service's HTTP port (bean {@code emulatorViews}): the
 * emulators' rows and records as JSON. Inside the service's JVM that is {@link LocalEnvironment}; with the emulators
 * in a process of their own, {@link RemoteEmulatorViews} says where to look instead.
 */
public interface EmulatorViews {
    String dataverseRowsJson(String entitySet);

    String targetRecordsJson(String collection);
}
