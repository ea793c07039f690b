package io.dataversesync.emulator.local;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The emulator views when the emulators run in another process (sync.local.emulators.in-process = false, e.g. the
 * standalone program): the views cannot read their data, so they name the emulator's own URL, which serves it.
 */
public class RemoteEmulatorViews implements EmulatorViews {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final int dataversePort;
    private final int targetPort;

    public RemoteEmulatorViews(int dataversePort, int targetPort) {
        this.dataversePort = dataversePort;
        this.targetPort = targetPort;
    }

    @Override
    public String dataverseRowsJson(String entitySet) {
        return answer("http://127.0.0.1:" + dataversePort + "/api/data/v9.2/", entitySet);
    }

    @Override
    public String targetRecordsJson(String collection) {
        return answer("http://127.0.0.1:" + targetPort + "/api/", collection);
    }

    /** The name from the URL goes into JSON through Jackson (escaped), never into a URL of ours unchecked. */
    private static String answer(String base, String name) {
        ObjectNode n = JSON.createObjectNode();
        n.put("message", "the emulators run in another process (sync.local.emulators.in-process = false): ask them");
        n.put("emulator", base);
        n.put("name", name);
        return n.toString();
    }
}
