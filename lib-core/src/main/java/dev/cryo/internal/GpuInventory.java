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
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The NVIDIA GPUs this machine has, as the driver lists them under /proc: cheap enough for the
 * launcher (cuInit would cost seconds on the restore path), and readable by a restored process
 * whose CUDA state is still locked (its own driver calls would block until unlock).
 */
public final class GpuInventory {
    private static final Pattern DRIVER_VERSION = Pattern.compile("Kernel Module(?:\\s+for \\S+)?\\s+(\\d+\\.\\d+(?:\\.\\d+)?)");

    private GpuInventory() {}

    /**
     * Where the driver lists itself: {@code /proc/driver/nvidia}, or the directory named by
     * {@code -Dcryo.nvidia.proc} or {@code CRYO_NVIDIA_PROC} (same layout), which lets tests on
     * machines without a GPU present a GPU set that changes between checkpoint and restore.
     */
    static Path root() {
        String configured = System.getProperty("cryo.nvidia.proc", System.getenv("CRYO_NVIDIA_PROC"));
        return Path.of(configured == null || configured.isBlank() ? "/proc/driver/nvidia" : configured);
    }

    /**
     * The loaded NVIDIA kernel driver's version (such as {@code 580.95.05}), or empty when this
     * machine has none: read from {@code version}, whose first line ends "Kernel Module  580.95.05  date".
     */
    public static Optional<String> driverVersion() {
        try {
            for (String line : Files.readAllLines(root().resolve("version"))) {
                Matcher m = DRIVER_VERSION.matcher(line);
                if (line.startsWith("NVRM") && m.find()) {
                    return Optional.of(m.group(1));
                }
            }
        } catch (IOException e) {
            // no driver
        }
        return Optional.empty();
    }

    /**
     * The GPUs the driver lists, in bus order (the driver's ordinal order), with model and UUID;
     * their memory is not listed there and reads as -1 (unknown).
     */
    public static List<GpuDevice> present() {
        List<GpuDevice> gpus = new ArrayList<>();
        Path proc = root().resolve("gpus");
        if (!Files.isDirectory(proc)) {
            return gpus;
        }
        List<Path> dirs = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(proc)) {
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
     * Why the GPU state of an image, made on {@code atCheckpoint}, cannot be restored onto
     * {@code present} with the user's {@code gpuMap}, or empty when it can: the same decision the
     * restored process makes ({@link GpuCheckpoint#planRemap}), taken before restoring.
     */
    public static Optional<String> misfit(List<GpuDevice> atCheckpoint, List<GpuDevice> present,
            Map<String, String> gpuMap) {
        try {
            GpuCheckpoint.planRemap(atCheckpoint, present, gpuMap);
            return Optional.empty();
        } catch (CudaUnavailableException e) {
            return Optional.of(e.getMessage());
        }
    }
}
