package io.dataversesync.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** What the steady scenario reads of a service in a process of its own: its GC log and Linux's per-thread stat lines. */
class MeasuredServiceTest {

    @Test
    void aPauseGivesTheHeapBeforeItAndItsLength() {
        assertThat(MeasuredService.OwnProcess.pause(
                "[141.296s][info][gc] GC(117) Pause Young (Normal) (G1 Evacuation Pause) 255M->126M(297M) 14.337ms"))
                .containsExactly(255.0, 14.337);
        assertThat(MeasuredService.OwnProcess.pause(
                "[104.838s][info][gc] GC(86) Pause Young (Mixed) (G1 Evacuation Pause) 132M->101M(297M) 17.110ms"))
                .containsExactly(132.0, 17.110);
        // Parallel's young and full collections, and other units
        assertThat(MeasuredService.OwnProcess.pause("[2.1s][info][gc] GC(3) Pause Young (Allocation Failure) 2048K->512K(9728K) 1.5ms"))
                .containsExactly(2.0, 1.5);
        assertThat(MeasuredService.OwnProcess.pause("[9.0s][info][gc] GC(9) Pause Full (Ergonomics) 1G->300M(1G) 250.0ms"))
                .containsExactly(1024.0, 250.0);
    }

    @Test
    void linesThatAreNoPauseAreNone() {
        assertThat(MeasuredService.OwnProcess.pause("[140.175s][info][gc,start] GC(116) Pause Young (Normal) (G1 Evacuation Pause)")).isNull();
        assertThat(MeasuredService.OwnProcess.pause("[104.610s][info][gc] GC(84) Concurrent Mark Cycle 608.521ms")).isNull();
        assertThat(MeasuredService.OwnProcess.pause("[0.004s][info][gc] Using G1")).isNull();
    }

    @Test
    void aThreadsStatLineGivesItsNameAndCpuTicksEvenWithSpacesAndParenthesesInTheName() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
        String stat = "9301 (Thread-2 (activ) S 9276 9247 9247 0 -1 1077936192 310 0 0 0 41 26 0 0 20 0 300 0 5000";
        assertThat(MeasuredService.OwnProcess.taskName(stat)).isEqualTo("Thread-2 (activ");
        assertThat(MeasuredService.OwnProcess.taskCpuTicks(stat)).isEqualTo(67);
    }

    @Test
    void threadsAreGroupedByTheirKind() {
        assertThat(MeasuredService.OwnProcess.threadGroup("Camel (camel-1)")).isEqualTo("camel");
        assertThat(MeasuredService.OwnProcess.threadGroup("Thread-11 (acti")).isEqualTo("broker");
        assertThat(MeasuredService.OwnProcess.threadGroup("activemq-buffer")).isEqualTo("broker");
        assertThat(MeasuredService.OwnProcess.threadGroup("C2 CompilerThre")).isEqualTo("jit-compiler");
        assertThat(MeasuredService.OwnProcess.threadGroup("G1 Conc#0")).isEqualTo("gc");
        assertThat(MeasuredService.OwnProcess.threadGroup("GC Thread#1")).isEqualTo("gc");
        assertThat(MeasuredService.OwnProcess.threadGroup("HttpClient-1-Wo")).isEqualTo("http-client");
        assertThat(MeasuredService.OwnProcess.threadGroup("java")).isEqualTo("other");
        // in the benchmark's JVM the names are whole: each queue's consumers apart
        assertThat(MeasuredService.InJvm.threadGroup("Camel (camel-1) thread #12 - JmsConsumer[dataverse-ack]"))
                .isEqualTo("consumers:dataverse-ack");
        assertThat(MeasuredService.InJvm.threadGroup("Camel (camel-1) thread #3 - JmsConsumer[dataverse-changes::dataverse-changes.customers]"))
                .isEqualTo("consumers:dataverse-changes.customers");
    }

    @Test
    void theServicesTimerOverTheMeasuredPhaseIsTheDifferenceOfItsBuckets() {
        java.util.NavigableMap<Double, Long> before = new java.util.TreeMap<>(java.util.Map.of(0.05, 100L, 0.1, 900L, 0.2, 1000L,
                Double.POSITIVE_INFINITY, 1000L));
        // 100 more at most 50 ms, 0 more between 50 and 100, 97 more between 100 and 200, 3 above 200 ms
        java.util.NavigableMap<Double, Long> after = new java.util.TreeMap<>(java.util.Map.of(0.05, 200L, 0.1, 1000L, 0.2, 1197L,
                Double.POSITIVE_INFINITY, 1200L));
        com.fasterxml.jackson.databind.node.ObjectNode out = SyncBenchmark.JSON.createObjectNode();
        MeasuredService.OwnProcess.serviceTimer(out, before, after);
        assertThat(out.path("serviceTimerP50LatencyMs").asDouble()).isEqualTo(50.0);
        assertThat(out.path("serviceTimerP95LatencyMs").asDouble()).isEqualTo(200.0);
        assertThat(out.path("serviceTimerP99LatencyMs").asDouble()).isEqualTo(-1.0); // above the last bound: unknown
    }
}
