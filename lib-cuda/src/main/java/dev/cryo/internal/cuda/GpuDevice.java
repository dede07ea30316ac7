package dev.cryo.internal.cuda;

import java.util.HexFormat;

/**
 * One CUDA device as the driver describes it.
 *
 * @param ordinal     the CUdevice ordinal
 * @param name        the model, e.g. {@code NVIDIA H100 80GB HBM3}
 * @param uuid        16 bytes
 * @param totalMemory bytes of device memory
 */
public record GpuDevice(int ordinal, String name, byte[] uuid, long totalMemory) {

    /** The UUID as nvidia-smi prints it: {@code GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}. */
    public String uuidString() {
        String h = HexFormat.of().formatHex(uuid);
        return "GPU-" + h.substring(0, 8) + "-" + h.substring(8, 12) + "-" + h.substring(12, 16) + "-"
                + h.substring(16, 20) + "-" + h.substring(20);
    }

    /** Parses {@link #uuidString()}. */
    public static byte[] parseUuid(String s) {
        return HexFormat.of().parseHex(s.replace("GPU-", "").replace("-", ""));
    }
}
