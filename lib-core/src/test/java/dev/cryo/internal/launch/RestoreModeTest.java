package dev.cryo.internal.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class RestoreModeTest {
    @Test
    @DisplayName("without flag or property: lazy from an estimated 200 ms of page faults on, eager below")
    void byPageFaults() {
        assertEquals(RestoreMode.EAGER, RestoreMode.byPageFaults(0));
        assertEquals(RestoreMode.EAGER, RestoreMode.byPageFaults(38)); // 123 MB at 1.25 µs a page: eager answered first
        assertEquals(RestoreMode.EAGER, RestoreMode.byPageFaults(97)); // 242 MB at 1.65 µs: eager first
        assertEquals(RestoreMode.EAGER, RestoreMode.byPageFaults(RestoreMode.LAZY_FROM_MILLIS - 1));
        assertEquals(RestoreMode.LAZY, RestoreMode.byPageFaults(RestoreMode.LAZY_FROM_MILLIS));
        assertEquals(RestoreMode.LAZY, RestoreMode.byPageFaults(426)); // 123 MB at 14 µs: lazy first
    }

    @Test
    @DisplayName("the timing line names the mode used, why, and the estimate where there was one")
    void timing() {
        var measured = new RestoreMode.Choice(RestoreMode.LAZY, "pageFaults", 426);
        assertEquals("mode=lazy modeBasis=pageFaults faultMs=426", measured.timing(RestoreMode.LAZY));
        assertEquals("mode=eager modeBasis=fallback faultMs=426", measured.timing(RestoreMode.EAGER));
        assertEquals("mode=eager modeBasis=flag", new RestoreMode.Choice(RestoreMode.EAGER, "flag", -1)
                .timing(RestoreMode.EAGER));
    }

    @Test
    @DisplayName("a first touch of fresh memory is measured: more than nothing, less than a millisecond a page")
    void pageFaultCost() {
        double us = PageFaultCost.microsPerPage();
        assertTrue(us > 0.01 && us < 1000, us + " µs a page");
    }
}
