package dev.cryo;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * {@link DeviceMemory} where CI runs: no GPU and no NVIDIA driver. The GPU path (allocation, the
 * move around a checkpoint, the fill after restore) is proved on the device by
 * device/gpu-arena-bench.sh; its pipeline is tested on real files by DeviceMemoryFilesTest.
 */
class DeviceMemoryTest {
    @Test
    @DisplayName("a size that is not positive is refused before the driver is touched")
    void badSize() {
        assertThrows(IllegalArgumentException.class, () -> DeviceMemory.allocate(0, 0));
        assertThrows(IllegalArgumentException.class, () -> DeviceMemory.allocate(0, -1));
    }

    @Test
    @DisplayName("without the NVIDIA driver: an error that names what is missing and what to do")
    @SuppressWarnings("restricted")
    void noDriver() {
        boolean driver;
        try {
            SymbolLookup.libraryLookup("libcuda.so.1", Arena.global());
            driver = true;
        } catch (IllegalArgumentException e) {
            driver = false;
        }
        Assumptions.assumeFalse(driver, "this machine has the NVIDIA driver");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> DeviceMemory.allocate(0, 1 << 20));
        assertTrue(e.getMessage().startsWith("Cannot allocate 1048576 bytes of device memory on GPU 0")
                && e.getMessage().contains("libcuda.so.1 is not installed"), e.getMessage());
    }
}
