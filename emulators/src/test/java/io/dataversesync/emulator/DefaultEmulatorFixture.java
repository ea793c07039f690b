package io.dataversesync.emulator;

import static io.dataversesync.emulator.DataverseEmulatorTest.startEmulator;
import static io.dataversesync.emulator.DataverseEmulatorTest.token;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** A Dataverse emulator with default settings on a free port for each test, and a token for its default user. */
abstract class DefaultEmulatorFixture {
    DataverseEmulator dataverse;
    String token;

    @BeforeEach
    void startDefaultEmulator() {
        dataverse = startEmulator(new DataverseEmulator.Settings());
        token = token(dataverse);
    }

    @AfterEach
    void stopDefaultEmulator() {
        dataverse.close();
    }

    String api(String relative) {
        return dataverse.baseUrl() + DataverseEmulator.API_ROOT + relative;
    }
}
