package dev.cryo.internal;

import dev.cryo.internal.cuda.GpuDevice;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * The runtime an image needs beyond its build: the CPU (model and feature flags: a restored JIT
 * may use instructions the new CPU lacks), the kernel, and where the machine has one, the NVIDIA
 * driver version and the GPU models. Stored in the image as
 * {@code runtime.*}; an image restores only where they are the same, so images of one app made on
 * different machines live side by side and each start picks its own.
 *
 * @param cpu          the CPU's model name
 * @param cpuFlags     a digest of its feature flags
 * @param kernel       the kernel's version
 * @param nvidiaDriver the NVIDIA driver's version, or {@value #NONE}
 * @param gpuModels    the GPU models, sorted, {@code "; "}-separated, or {@value #NONE}
 */
public record RuntimeKey(String cpu, String cpuFlags, String kernel, String nvidiaDriver, String gpuModels) {
    static final String NONE = "none";

    /** This machine's runtime. */
    public static RuntimeKey current() {
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
        List<String> models = GpuInventory.present().stream().map(GpuDevice::name).distinct().sorted().toList();
        return new RuntimeKey(model, digest(flags), System.getProperty("os.version"),
                GpuInventory.driverVersion().orElse(NONE), models.isEmpty() ? NONE : String.join("; ", models));
    }

    /** Why an image made on this runtime cannot be restored on {@code here}, or empty when it can. */
    public Optional<String> misfit(RuntimeKey here) {
        if (!here.cpuFlags.equals(cpuFlags)) {
            return Optional.of("it was made on a CPU with other features (" + cpu + "; here: " + here.cpu
                    + "): restored code could use instructions this CPU lacks");
        }
        if (!here.kernel.equals(kernel)) {
            return Optional.of("it was made on kernel " + kernel + ", this is " + here.kernel);
        }
        // An image made where no NVIDIA driver was loaded holds no CUDA state: it restores on any
        // machine. One made with the driver may hold driver state and device facts the app cached.
        if (!nvidiaDriver.equals(NONE) && !nvidiaDriver.equals(here.nvidiaDriver)) {
            return Optional.of("it was made with NVIDIA driver " + nvidiaDriver + ", this machine has "
                    + (here.nvidiaDriver.equals(NONE) ? "none" : here.nvidiaDriver));
        }
        if (!gpuModels.equals(NONE) && !gpuModels.equals(here.gpuModels)) {
            return Optional.of("it was made on GPUs of model " + gpuModels + ", this machine has "
                    + (here.gpuModels.equals(NONE) ? "none" : here.gpuModels));
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
