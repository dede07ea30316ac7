package dev.cryo.internal.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class LauncherTimingTest {
    @Test
    @DisplayName("bin/cryo's hand-over time: bash's $EPOCHREALTIME with either decimal mark, or none")
    void execEpochMillis() {
        assertEquals(1_764_686_400_123L, Launcher.execEpochMillis("1764686400.123456"));
        assertEquals(1_764_686_400_123L, Launcher.execEpochMillis("1764686400,123456"));
        assertEquals(0, Launcher.execEpochMillis(null));
        assertEquals(0, Launcher.execEpochMillis("")); // bash before 5.0: no $EPOCHREALTIME
        assertEquals(0, Launcher.execEpochMillis("not a time"));
    }
}
