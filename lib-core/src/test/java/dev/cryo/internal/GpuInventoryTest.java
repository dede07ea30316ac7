package dev.cryo.internal;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class GpuInventoryTest {
    private static final Map<String, String> ONE_H100 = Map.of("gpu.count", "1", "gpu.0.name", "NVIDIA H100 80GB HBM3");

    @Test
    @DisplayName("a CPU-only image fits anywhere; a GPU image needs the same models, enough of them")
    void misfit() {
        assertTrue(GpuInventory.misfit(Map.of(), List.of()).isEmpty());
        assertTrue(GpuInventory.misfit(ONE_H100, List.of()).orElseThrow().contains("shows no NVIDIA GPU"));
        assertTrue(GpuInventory.misfit(ONE_H100, List.of(new GpuInventory.Gpu("NVIDIA H100 80GB HBM3", "GPU-1")))
                .isEmpty());
        assertTrue(GpuInventory.misfit(ONE_H100, List.of(new GpuInventory.Gpu("NVIDIA A100-SXM4-40GB", "GPU-2")))
                .orElseThrow().contains("same model"));
        Map<String, String> two = Map.of("gpu.count", "2", "gpu.0.name", "H100", "gpu.1.name", "H100");
        assertTrue(GpuInventory.misfit(two, List.of(new GpuInventory.Gpu("H100", "GPU-1"))).orElseThrow()
                .contains("needs 2 GPU(s) and this machine has 1"));
    }
}
