package dev.cryo.internal;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.internal.cuda.GpuDevice;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class GpuInventoryTest {
    private static final String H100_UUID = "GPU-341a9345-4265-f847-9deb-7ae559817e0a";
    private static final List<GpuDevice> ONE_H100 = List.of(new GpuDevice(0, "NVIDIA H100 80GB HBM3",
            GpuDevice.parseUuid(H100_UUID), 85017493504L));

    private static GpuDevice fromProc(int i, String model, String uuid) {
        return new GpuDevice(i, model, GpuDevice.parseUuid(uuid), -1);
    }

    @Test
    @DisplayName("a CPU-only image fits anywhere; a GPU image needs the same models, enough of them, a valid map")
    void misfit() {
        assertTrue(GpuInventory.misfit(List.of(), List.of(), Map.of()).isEmpty());
        assertTrue(GpuInventory.misfit(ONE_H100, List.of(), Map.of()).orElseThrow()
                .contains("no CUDA GPU is visible now"));
        assertTrue(GpuInventory.misfit(ONE_H100, List.of(fromProc(0, "NVIDIA H100 80GB HBM3", H100_UUID)), Map.of())
                .isEmpty());
        assertTrue(GpuInventory.misfit(ONE_H100, List.of(fromProc(0, "NVIDIA H100 80GB HBM3",
                "GPU-00000000-0000-0000-0000-000000000001")), Map.of()).isEmpty(), "another H100: remapped");
        assertTrue(GpuInventory.misfit(ONE_H100, List.of(fromProc(0, "NVIDIA A100-SXM4-40GB",
                "GPU-00000000-0000-0000-0000-000000000002")), Map.of()).orElseThrow().contains("same model"));
        List<GpuDevice> two = List.of(new GpuDevice(0, "H100", GpuDevice.parseUuid(H100_UUID), 1),
                new GpuDevice(1, "H100", GpuDevice.parseUuid("GPU-00000000-0000-0000-0000-000000000003"), 1));
        assertTrue(GpuInventory.misfit(two, List.of(fromProc(0, "H100", H100_UUID)), Map.of()).orElseThrow()
                .contains("only 1 are visible now"));
        assertTrue(GpuInventory.misfit(ONE_H100, List.of(fromProc(0, "NVIDIA H100 80GB HBM3", H100_UUID)),
                Map.of("0", "5")).orElseThrow().contains("'5'"), "a bad --gpu-map is refused before restoring");
    }
}
