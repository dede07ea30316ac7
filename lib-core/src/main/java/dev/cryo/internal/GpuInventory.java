package dev.cryo.internal;

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
 * launcher to decide, before restoring, whether an image's GPU state can go anywhere (cuInit
 * would cost seconds on the restore path).
 */
public final class GpuInventory {
    static final Path PROC = Path.of("/proc/driver/nvidia/gpus");

    /** One GPU: its model name and UUID ({@code GPU-...}). */
    public record Gpu(String model, String uuid) {}

    private GpuInventory() {}

    /** The GPUs the driver lists, sorted by bus location (the driver's ordinal order). */
    public static List<Gpu> present() {
        List<Gpu> gpus = new ArrayList<>();
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
                String uuid = "?";
                for (String line : Files.readAllLines(d.resolve("information"))) {
                    if (line.startsWith("Model:")) {
                        model = line.substring(6).trim();
                    } else if (line.startsWith("GPU UUID:")) {
                        uuid = line.substring(9).trim();
                    }
                }
                gpus.add(new Gpu(model, uuid));
            } catch (IOException e) {
                // A GPU that went away meanwhile.
            }
        }
        return gpus;
    }

    /**
     * Why an image whose metadata lists GPUs ({@code gpu.count}, {@code gpu.N.name}) cannot be
     * restored on {@code present}, or empty when it can (same models, at least as many GPUs).
     */
    public static Optional<String> misfit(Map<String, String> metadata, List<Gpu> present) {
        int count = Integer.parseInt(metadata.getOrDefault("gpu.count", "0"));
        if (count == 0) {
            return Optional.empty();
        }
        List<String> wanted = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            wanted.add(metadata.getOrDefault("gpu." + i + ".name", "?"));
        }
        if (present.isEmpty()) {
            return Optional.of("it holds the state of " + count + " GPU(s) (" + String.join(", ", wanted)
                    + ") and this machine shows no NVIDIA GPU (no /proc/driver/nvidia/gpus)");
        }
        if (present.size() < count) {
            return Optional.of("it needs " + count + " GPU(s) and this machine has " + present.size());
        }
        for (int i = 0; i < count; i++) {
            String now = present.get(i).model();
            if (!sameModel(wanted.get(i), now)) {
                return Optional.of("it was made on GPU " + i + " = " + wanted.get(i) + ", and GPU " + i + " here is "
                        + now + ": the driver restores GPU state only onto the same model");
            }
        }
        return Optional.empty();
    }

    // The driver API names "NVIDIA H100 80GB HBM3"; /proc may shorten or pad it.
    private static boolean sameModel(String a, String b) {
        String x = a.replace("NVIDIA", "").trim();
        String y = b.replace("NVIDIA", "").trim();
        return x.equalsIgnoreCase(y) || x.startsWith(y) || y.startsWith(x);
    }
}
