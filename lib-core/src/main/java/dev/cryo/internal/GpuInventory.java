package dev.cryo.internal;

import dev.cryo.internal.cuda.CudaUnavailableException;
import dev.cryo.internal.cuda.GpuCheckpoint;
import dev.cryo.internal.cuda.GpuDevice;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The NVIDIA GPUs this machine has, as the driver lists them under /proc: cheap enough for the
 * launcher (cuInit would cost seconds on the restore path), and readable by a restored process
 * whose CUDA state is still locked (its own driver calls would block until unlock).
 */
public final class GpuInventory {
    static final Path PROC = Path.of("/proc/driver/nvidia/gpus");

    private GpuInventory() {}

    /**
     * The GPUs the driver lists, in bus order (the driver's ordinal order), with model and UUID;
     * their memory is not listed there and reads as -1 (unknown).
     */
    public static List<GpuDevice> present() {
        List<GpuDevice> gpus = new ArrayList<>();
        if (!Files.isDirectory(PROC)) {
            return gpus;
        }
        List<Path> dirs = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(PROC)) {
            s.forEach(dirs::add);
        } catch (IOException e) {
            return gpus;
        }
        dirs.sort(null);
        for (Path d : dirs) {
            try {
                String model = "?";
                String uuid = null;
                for (String line : Files.readAllLines(d.resolve("information"))) {
                    if (line.startsWith("Model:")) {
                        model = line.substring(6).trim();
                    } else if (line.startsWith("GPU UUID:")) {
                        uuid = line.substring(9).trim();
                    }
                }
                if (uuid != null) {
                    gpus.add(new GpuDevice(gpus.size(), model, GpuDevice.parseUuid(uuid), -1));
                }
            } catch (IOException | IllegalArgumentException e) {
                // A GPU that went away meanwhile, or an entry we cannot read.
            }
        }
        return gpus;
    }

    /**
     * Why the GPU state described by an image's {@code metadata} cannot be restored onto
     * {@code present} with the user's {@code gpuMap}, or empty when it can: the same decision the
     * restored process makes ({@link GpuCheckpoint#planRemap}), taken before restoring.
     */
    public static Optional<String> misfit(Map<String, String> metadata, List<GpuDevice> present,
            Map<String, String> gpuMap) {
        try {
            GpuCheckpoint.planRemap(GpuCheckpoint.fromMetadata(metadata), present, gpuMap);
            return Optional.empty();
        } catch (CudaUnavailableException e) {
            return Optional.of(e.getMessage());
        }
    }
}
