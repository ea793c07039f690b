package io.dataversesync.emulator;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class FreePortsTest {
    @Test
    void portsOnThisSystemAreOutsideTheEphemeralRangeDistinctAndBindable() throws Exception {
        int[] range = FreePorts.ephemeralRange();
        int[] window = FreePorts.window(range[0], range[1]);
        Set<Integer> ports = new HashSet<>();
        for (int i = 0; i < 50; i++) {
            int port = FreePorts.free();
            assertThat(ports.add(port)).as("port %d given twice", port).isTrue();
            assertThat(port).isBetween(window[0], window[1]);
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new InetSocketAddress(port));
            }
        }
    }

    @ParameterizedTest(name = "ephemeral range {0}-{1}: pick from {2}-{3}")
    @CsvSource({
        "32768, 60999, 10000, 32767", // Linux's default: room below
        "49152, 65535, 10000, 49151", // IANA's range (Windows, macOS): room below
        "1024, 65535, 10000, 65535", // a container whose range covers every port: no window avoids it
        "1024, 40000, 40001, 65535", // room only above
        "10500, 65000, 10000, 65535", // too little room either side
        "10500, 60999, 61000, 65535", // little room below, enough above
    })
    void theWindowAvoidsTheEphemeralRangeWhereThereIsRoom(int start, int end, int low, int high) {
        assertThat(FreePorts.window(start, end)).containsExactly(low, high);
    }

    @Test
    void aRangeCoveringEveryPortStillNeverGivesAPortTwice() throws Exception {
        // The CI machine's case: before, such a system fell back to the kernel's pick, which answered 41309 twice.
        Set<Integer> ports = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            int port = FreePorts.free(1024, 65535);
            assertThat(ports.add(port)).as("port %d given twice", port).isTrue();
            assertThat(FreePorts.bindable(port)).isTrue();
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
