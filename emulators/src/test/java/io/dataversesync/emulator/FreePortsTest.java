package io.dataversesync.emulator;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;

import org.junit.jupiter.api.Test;

class FreePortsTest {
    @Test
    void portsAreBelowTheEphemeralRangeDistinctAndBindable() throws Exception {
        int ceiling = FreePorts.ephemeralRangeStart();
        Set<Integer> ports = new HashSet<>();
        for (int i = 0; i < 50; i++) {
            int port = FreePorts.free();
            assertThat(ports.add(port)).as("port %d given twice", port).isTrue();
            if (ceiling > 11_000) {
                assertThat(port).isBetween(10_000, ceiling - 1);
            }
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new InetSocketAddress(port));
            }
        }
    }

    @Test
    void aPortWithAListenerIsNotBindable() throws Exception {
        int port = FreePorts.free();
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", port)); // even on loopback only: the service binds the wildcard
            assertThat(FreePorts.bindable(port)).isFalse();
        }
        assertThat(FreePorts.bindable(port)).isTrue();
    }
}
