package dev.cryo.internal;

import dev.cryo.internal.cuda.GpuDevice;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The runtime an image needs beyond its build: the CPU (model and feature flags: a restored JIT
 * may use instructions the new CPU lacks), the kernel, and where the machine has one, the NVIDIA
 * driver version and the GPU models. Stored in the image as
 * {@code runtime.*}; an image restores only where they are the same, so images of one app made on
 * different machines live side by side and each start picks its own.
 */
public final class RuntimeKey {
    private static final String NONE = "none";
    private RuntimeKey() {}

    /** This machine's runtime entries. */
    public static Map<String, String> current() {
        Map<String, String> m = new LinkedHashMap<>();
        String model = "?";
        String flags = "";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name") && model.equals("?")) {
                    model = line.substring(line.indexOf(':') + 1).trim();
                } else if (line.startsWith("flags") && flags.isEmpty()) {
                    flags = line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException e) {
            // leave unknown
        }
        m.put("runtime.cpu", model);
        m.put("runtime.cpuFlags", digest(flags));
        m.put("runtime.kernel", System.getProperty("os.version"));
        m.put("runtime.nvidiaDriver", GpuInventory.driverVersion().orElse(NONE));
        List<String> models = GpuInventory.present().stream().map(GpuDevice::name).distinct().sorted().toList();
        m.put("runtime.gpuModels", models.isEmpty() ? NONE : String.join("; ", models));
        return m;
    }

    /** Why an image with {@code metadata} was made on another runtime, or empty when it fits here. */
    public static Optional<String> misfit(Map<String, String> metadata, Map<String, String> here) {
        if (!metadata.containsKey("runtime.cpuFlags")) {
            return Optional.empty(); // an image from before runtime keys: nothing to compare
        }
        if (!here.get("runtime.cpuFlags").equals(metadata.get("runtime.cpuFlags"))) {
            return Optional.of("it was made on a CPU with other features (" + metadata.get("runtime.cpu")
                    + "; here: " + here.get("runtime.cpu") + "): restored code could use instructions this CPU lacks");
        }
        if (!here.get("runtime.kernel").equals(metadata.get("runtime.kernel"))) {
            return Optional.of("it was made on kernel " + metadata.get("runtime.kernel") + ", this is "
                    + here.get("runtime.kernel"));
        }
        // An image made where no NVIDIA driver was loaded holds no CUDA state: it restores on any
        // machine. One made with the driver may hold driver state and device facts the app cached.
        String driver = metadata.getOrDefault("runtime.nvidiaDriver", NONE);
        if (!driver.equals(NONE) && !driver.equals(here.get("runtime.nvidiaDriver"))) {
            return Optional.of("it was made with NVIDIA driver " + driver + ", this machine has "
                    + (here.get("runtime.nvidiaDriver").equals(NONE) ? "none" : here.get("runtime.nvidiaDriver")));
        }
        String models = metadata.getOrDefault("runtime.gpuModels", NONE);
        if (!models.equals(NONE) && !models.equals(here.get("runtime.gpuModels"))) {
            return Optional.of("it was made on GPUs of model " + models + ", this machine has "
                    + (here.get("runtime.gpuModels").equals(NONE) ? "none" : here.get("runtime.gpuModels")));
        }
        return Optional.empty();
    }

    private static String digest(String s) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
