package dev.cryo.internal.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class GpuCheckpointTest {
    private static final long GB80 = 85_520_809_984L;

    private static GpuDevice gpu(int i, String name, int uuidByte, long memory) {
        byte[] uuid = new byte[16];
        java.util.Arrays.fill(uuid, (byte) uuidByte);
        return new GpuDevice(i, name, uuid, memory);
    }

    @Test
    @DisplayName("the same GPUs need no remap; other GPUs of the same model map by index")
    void remap() {
        List<GpuDevice> before = List.of(gpu(0, "NVIDIA H100 80GB HBM3", 1, GB80), gpu(1, "NVIDIA H100 80GB HBM3", 2, GB80));
        assertTrue(GpuCheckpoint.planRemap(before, before).isEmpty());
        List<GpuDevice> other = List.of(gpu(0, "NVIDIA H100 80GB HBM3", 7, GB80), gpu(1, "NVIDIA H100 80GB HBM3", 8, GB80));
        List<GpuPair> pairs = GpuCheckpoint.planRemap(before, other);
        assertEquals(2, pairs.size());
        assertEquals(before.get(1), pairs.get(1).from());
        assertEquals(other.get(1), pairs.get(1).to());
        assertTrue(GpuCheckpoint.planRemap(List.of(), List.of()).isEmpty(), "no GPU state, nothing to map");
    }

    @Test
    @DisplayName("a user's map moves GPU 0 to GPU 1 on the same host, and GPU 1 to GPU 0")
    void userMap() {
        List<GpuDevice> gpus = List.of(gpu(0, "NVIDIA H200", 1, GB80), gpu(1, "NVIDIA H200", 2, GB80));
        List<GpuPair> pairs = GpuCheckpoint.planRemap(gpus, gpus, java.util.Map.of("0", "1"));
        assertEquals(gpus.get(1), pairs.get(0).to());
        assertEquals(gpus.get(0), pairs.get(1).to());
        pairs = GpuCheckpoint.planRemap(gpus, gpus, java.util.Map.of(gpus.get(1).uuidString(), "0"));
        assertEquals(gpus.get(0), pairs.get(1).to());
        assertEquals(gpus.get(1), pairs.get(0).to());
        assertTrue(assertThrows(CudaUnavailableException.class,
                () -> GpuCheckpoint.planRemap(gpus, gpus, java.util.Map.of("0", "7"))).getMessage().contains("'7'"));

        List<GpuDevice> three = List.of(gpu(0, "NVIDIA H200", 1, GB80), gpu(1, "NVIDIA H200", 2, GB80),
                gpu(2, "NVIDIA H200", 3, GB80));
        pairs = GpuCheckpoint.planRemap(three, three, new java.util.LinkedHashMap<>(java.util.Map.of("0", "1", "1", "2")));
        assertEquals(List.of(three.get(1), three.get(2), three.get(0)), pairs.stream().map(GpuPair::to).toList(),
                "a chain rotates: every GPU gets exactly one place");
        assertTrue(assertThrows(CudaUnavailableException.class, () -> GpuCheckpoint.planRemap(three, three,
                java.util.Map.of("0", "2", "1", "2"))).getMessage().contains("same one"));
    }

    @Test
    @DisplayName("no GPU, fewer GPUs, another model or less memory: refused with what differs")
    void refusals() {
        List<GpuDevice> before = List.of(gpu(0, "NVIDIA H100 80GB HBM3", 1, GB80));
        assertTrue(assertThrows(CudaUnavailableException.class, () -> GpuCheckpoint.planRemap(before, List.of()))
                .getMessage().contains("no CUDA GPU is visible now"));
        assertTrue(assertThrows(CudaUnavailableException.class,
                () -> GpuCheckpoint.planRemap(before, List.of(gpu(0, "NVIDIA A100-SXM4-40GB", 3, GB80 / 2))))
                .getMessage().contains("same model"));
        assertTrue(assertThrows(CudaUnavailableException.class,
                () -> GpuCheckpoint.planRemap(before, List.of(gpu(0, "NVIDIA H100 80GB HBM3", 3, GB80 / 2))))
                .getMessage().contains("at least as much memory"));
    }

    @Test
    @DisplayName("UUIDs print like nvidia-smi and parse back")
    void uuids() {
        GpuDevice d = new GpuDevice(0, "NVIDIA H100 80GB HBM3",
                GpuDevice.parseUuid("GPU-341a9345-4265-f847-9deb-7ae559817e0a"), GB80);
        assertEquals("GPU-341a9345-4265-f847-9deb-7ae559817e0a", d.uuidString());
        assertArrayEquals(d.uuid(), GpuDevice.parseUuid(d.uuidString()));
    }

    @Test
    @DisplayName("a JVM that never used CUDA has no GPU state; without a driver, loading it says what to install")
    void noCuda() {
        assertTrue(GpuCheckpoint.forCurrentProcess().isEmpty());
        if (!java.nio.file.Files.exists(java.nio.file.Path.of("/proc/driver/nvidia"))) {
            CudaUnavailableException e = assertThrows(CudaUnavailableException.class, LibCuda::load);
            assertTrue(e.getMessage().contains("libcuda.so.1") && e.getMessage().contains("r570"), e.getMessage());
        }
    }
}
