package io.dataversesync.emulator;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free ports for the servers a test or the benchmark starts (the service's HTTP server, emulators, brokers), picked
 * outside the kernel's ephemeral range where the system leaves room for that, and never the same port twice in one JVM.
 *
 * <p>Why not {@code new ServerSocket(0)}: that answers a port of the ephemeral range, the range the kernel also gives
 * every outgoing connection on the machine. Between the pick and the server's bind, any client socket (the test's
 * own, or another process's on a shared host) may take that port, and the bind fails. A clean-clone run showed
 * it: RetryPolicyTest's HTTP port was held through the whole class. Outside the range only a listener can hold a
 * port, and the pick checks for that. It also answers the same port again once the socket that asked is closed, which
 * is why even a system whose ephemeral range covers every port (a CI machine had that: "port given twice") gets a
 * random pick here, checked against the ports already given.
 */
public final class FreePorts {
    private static final int LOWEST = 10_000;
    private static final int HIGHEST = 65_535;
    private static final int ENOUGH_ROOM = 1_000;
    private static final Set<Integer> GIVEN = ConcurrentHashMap.newKeySet();

    private FreePorts() {
    }

    /** A port no listener holds now, outside this system's ephemeral range where it leaves room for that. */
    public static int free() {
        int[] range = ephemeralRange();
        return free(range[0], range[1]);
    }

    /** A free port for a system whose ephemeral range is {@code rangeStart..rangeEnd}. */
    static int free(int rangeStart, int rangeEnd) {
        int[] window = window(rangeStart, rangeEnd);
        for (int attempt = 0; attempt < 500; attempt++) {
            int port = ThreadLocalRandom.current().nextInt(window[0], window[1] + 1);
            if (!GIVEN.contains(port) && bindable(port) && GIVEN.add(port)) {
                return port;
            }
        }
        throw new IllegalStateException("no free port found between " + window[0] + " and " + window[1]);
    }

    /**
     * The ports to pick from: the larger of the room below the ephemeral range (from 10,000) and above it, if it has
     * at least 1,000 ports; otherwise all ports from 10,000 up (the range covers them, so no window avoids it).
     */
    static int[] window(int rangeStart, int rangeEnd) {
        int below = rangeStart - LOWEST;
        int above = HIGHEST - Math.max(rangeEnd, LOWEST - 1);
        if (below >= ENOUGH_ROOM && below >= above) {
            return new int[] {LOWEST, rangeStart - 1};
        }
        if (above >= ENOUGH_ROOM) {
            return new int[] {Math.max(rangeEnd + 1, LOWEST), HIGHEST};
        }
        return new int[] {LOWEST, HIGHEST};
    }

    static boolean bindable(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(false);
            s.bind(new InetSocketAddress(port)); // the wildcard address, as the service's servers bind
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** The ephemeral range (Linux); 32768-60999, the usual one, where the file cannot be read. */
    static int[] ephemeralRange() {
        try {
            String[] range = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim().split("\\s+");
            return new int[] {Integer.parseInt(range[0]), Integer.parseInt(range[1])};
        } catch (IOException | RuntimeException e) {
            return new int[] {32_768, 60_999};
        }
    }
}
