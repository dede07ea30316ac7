package dev.cryo.internal;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * What the launcher asks of one restore that the restored process must know (its environment is
 * the old one): for now, where its GPUs go ({@code --gpu-map}). Written as
 * {@code <store>/.restore-<pid>.properties} before the restore, read by the restored process (it
 * knows its store and its pid), removed when the restore is over.
 */
public final class RestoreRequest {
    private RestoreRequest() {}

    static Path file(Path store, long pid) {
        return store.resolve(".restore-" + pid + ".properties");
    }

    /** Writes the request, or returns null when there is nothing to ask. */
    public static Path write(Path store, long pid, String gpuMap) {
        Path f = file(store, pid);
        try {
            Files.deleteIfExists(f);
            if (gpuMap == null || gpuMap.isBlank()) {
                return null;
            }
            Properties p = new Properties();
            p.setProperty("gpu.map", gpuMap);
            try (Writer w = Files.newBufferedWriter(f)) {
                p.store(w, "Cryo restore request");
            }
            Permissions.ownerOnlyFile(f);
            return f;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot write the restore request " + f, e);
        }
    }

    public static void remove(Path request) {
        if (request != null) {
            try {
                Files.deleteIfExists(request);
            } catch (IOException e) {
                // A stale request is overwritten or removed by the next restore of this pid.
            }
        }
    }

    /** The GPU map this restore was asked for ({@code OLD=NEW,...}), empty when none. */
    public static Map<String, String> gpuMap(Path store, long pid) {
        Map<String, String> map = new LinkedHashMap<>();
        Path f = file(store, pid);
        if (!Files.isRegularFile(f)) {
            return map;
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(f)) {
            p.load(r);
        } catch (IOException e) {
            return map;
        }
        return parseGpuMap(p.getProperty("gpu.map", ""));
    }

    /** {@code OLD=NEW,OLD=NEW} (GPU indexes or UUIDs) as a map, in order; null or blank is empty. */
    public static Map<String, String> parseGpuMap(String text) {
        Map<String, String> map = new LinkedHashMap<>();
        if (text == null) {
            return map;
        }
        for (String pair : text.split(",")) {
            String[] kv = pair.trim().split("=", 2);
            if (kv.length == 2) {
                map.put(kv[0].trim(), kv[1].trim());
            }
        }
        return map;
    }
}
