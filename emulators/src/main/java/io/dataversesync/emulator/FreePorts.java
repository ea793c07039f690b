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
 * below the kernel's ephemeral range.
 *
 * <p>Why not {@code new ServerSocket(0)}: that answers a port of the ephemeral range, the range the kernel also gives
 * every outgoing connection on the machine. Between the pick and the server's bind, any client socket (the test's
 * own, or another process's on a shared host) may take that port, and the bind fails. A clean-clone run showed
 * it: RetryPolicyTest's HTTP port was held through the whole class. Below the range only a listener can hold a port,
 * and the pick checks for that; ports already given out in this JVM are never given twice.
 */
public final class FreePorts {
    private static final int LOWEST = 10_000;
    private static final Set<Integer> GIVEN = ConcurrentHashMap.newKeySet();

    private FreePorts() {
    }

    /** A port no listener holds now, outside the ephemeral range where the system has one below it. */
    public static int free() {
        int ceiling = ephemeralRangeStart();
        if (ceiling - LOWEST < 1_000) {
            return anyFreePort(); // no room below the range on this system: the kernel's pick is the best there is
        }
        for (int attempt = 0; attempt < 200; attempt++) {
            int port = ThreadLocalRandom.current().nextInt(LOWEST, ceiling);
            if (!GIVEN.contains(port) && bindable(port) && GIVEN.add(port)) {
                return port;
            }
        }
        throw new IllegalStateException("no free port found between " + LOWEST + " and " + ceiling);
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

    /** The first port of the ephemeral range (Linux); 32768, the usual one, where the file cannot be read. */
    static int ephemeralRangeStart() {
        try {
            String range = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim();
            return Integer.parseInt(range.split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return 32_768;
        }
    }

    private static int anyFreePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
