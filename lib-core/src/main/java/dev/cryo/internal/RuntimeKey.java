package dev.cryo.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The runtime an image needs beyond its build: the CPU (model and feature flags: a restored JIT
 * may use instructions the new CPU lacks) and the kernel. Stored in the image as
 * {@code runtime.*}; an image restores only where they are the same, so images of one app made on
 * different machines live side by side and each start picks its own.
 */
public final class RuntimeKey {
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
