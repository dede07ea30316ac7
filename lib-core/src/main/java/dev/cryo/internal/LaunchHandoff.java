package dev.cryo.internal;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * What the launcher ({@code bin/cryo run}) hands the app it starts, written and read here only.
 *
 * <p>A cold start gets it in its environment: the image directory (which wins over the app's own
 * setting), the build key the launcher computed, the GPU map it was given, and the CRIU it checked
 * (so that the app need not start criu inside the process about to be dumped). A restored process
 * keeps the environment it had at checkpoint, so what a restore asks of it (the GPU map) travels in
 * a request file, {@code <store>/.restore-<pid>.properties}, written before the restore, read by
 * the restored process (it knows its store and its pid) and removed when the restore is over.
 *
 * @param imageDirectory the image store
 * @param buildKey       the build key of the command
 * @param gpuMap         where checkpoint GPUs go ({@code --gpu-map}: index or UUID to index or UUID), in order
 * @param criu           the CRIU the launcher checked, when it could
 * @param environment    the launcher's environment as the fit rule compares it ({@link EnvironmentDigest}: name to
 *                       digest), which the app records in its image: the launcher compares its own with it, not
 *                       with what a start script may have added for the JVM; empty when not handed
 */
public record LaunchHandoff(Path imageDirectory, String buildKey, Map<String, String> gpuMap,
        Optional<CheckedCriu> criu, Map<String, String> environment) {
    /** Set (to 1) for an app started by the launcher. */
    static final String LAUNCHER = "CRYO_LAUNCHER";
    /** The image directory; also the user's own setting, below the app's options, when set outside the launcher. */
    public static final String IMAGE_DIR = "CRYO_IMAGE_DIR";
    static final String BUILD_KEY = "CRYO_BUILD_KEY";
    static final String GPU_MAP = "CRYO_GPU_MAP";
    static final String CRIU_VERSION = "CRYO_CRIU_CHECKED_VERSION";
    static final String CRIU_BINARY = "CRYO_CRIU_CHECKED_BINARY";
    static final String ENVIRONMENT = "CRYO_ENVIRONMENT";
    /** The dump's time limit in seconds (bin/cryo run --dump-timeout); users may set it too. */
    public static final String DUMP_TIMEOUT_ENV = "CRYO_DUMP_TIMEOUT";
    /**
     * The user's additions to the variables the fit rule leaves out of the environment
     * ({@link EnvironmentDigest}): names separated by commas, {@code PREFIX*} for every name that
     * starts so. The user's setting, like {@code CRYO_HOME}: the app's children keep it.
     */
    public static final String ENV_IGNORE = "CRYO_ENV_IGNORE";

    /**
     * The criu binary the launcher checked.
     *
     * @param version its version, as {@code 40201}
     * @param binary  its path
     */
    public record CheckedCriu(int version, Path binary) {}

    public LaunchHandoff {
        gpuMap = Collections.unmodifiableMap(new LinkedHashMap<>(gpuMap));
        environment = Collections.unmodifiableMap(new java.util.TreeMap<>(environment));
    }

    /** A handoff without the launcher's environment. */
    public LaunchHandoff(Path imageDirectory, String buildKey, Map<String, String> gpuMap, Optional<CheckedCriu> criu) {
        this(imageDirectory, buildKey, gpuMap, criu, Map.of());
    }

    /** Puts the handoff into a child's environment. */
    public void into(Map<String, String> environment) {
        environment.put(LAUNCHER, "1");
        environment.put(IMAGE_DIR, imageDirectory.toString());
        environment.put(BUILD_KEY, buildKey);
        if (!gpuMap.isEmpty()) {
            environment.put(GPU_MAP, formatGpuMap(gpuMap));
        }
        criu.ifPresent(c -> {
            environment.put(CRIU_VERSION, Integer.toString(c.version()));
            environment.put(CRIU_BINARY, c.binary().toString());
        });
        if (!this.environment.isEmpty()) { // NAME=DIGEST lines: a name holds no '=', and no line break in practice
            StringBuilder b = new StringBuilder();
            this.environment.forEach((name, digest) -> b.append(name).append('=').append(digest).append('\n'));
            environment.put(ENVIRONMENT, b.toString());
        }
    }

    /** What the launcher handed this process (its environment), or empty when no launcher started it. */
    public static Optional<LaunchHandoff> fromEnvironment(Map<String, String> environment) {
        String dir = environment.get(IMAGE_DIR);
        String key = environment.get(BUILD_KEY);
        if (environment.get(LAUNCHER) == null || dir == null || dir.isBlank() || key == null || key.isBlank()) {
            return Optional.empty();
        }
        Optional<CheckedCriu> criu = Optional.empty();
        try {
            String bin = environment.get(CRIU_BINARY);
            if (bin != null && environment.get(CRIU_VERSION) != null) {
                criu = Optional.of(new CheckedCriu(Integer.parseInt(environment.get(CRIU_VERSION)), Path.of(bin)));
            }
        } catch (NumberFormatException e) {
            // then the app checks CRIU itself
        }
        Map<String, String> digests = new java.util.TreeMap<>();
        String handed = environment.get(ENVIRONMENT);
        if (handed != null) {
            handed.lines().map(l -> l.split("=", 2)).filter(kv -> kv.length == 2).forEach(kv -> digests.put(kv[0], kv[1]));
        }
        return Optional.of(new LaunchHandoff(Path.of(dir), key, parseGpuMap(environment.get(GPU_MAP)), criu, digests));
    }

    /**
     * What the launcher handed this process, or empty when no launcher started it. Read once; the
     * first call also takes the launcher's variables out of what this process's children inherit
     * (see {@link #keepFromChildren}). Checkpointer calls it when it loads.
     */
    public static Optional<LaunchHandoff> current() {
        return Received.HANDOFF;
    }

    /** Cryo's variable {@code name} as this process had it at start (before {@link #keepFromChildren}). */
    public static String variable(String name) {
        return NAMES.contains(name) ? Received.VARIABLES.get(name) : System.getenv(name);
    }

    /** The names {@value #ENV_IGNORE} lists in this process's environment, in order. */
    public static List<String> envIgnore() {
        String list = variable(ENV_IGNORE);
        return list == null ? List.of()
                : java.util.Arrays.stream(list.split(",")).map(String::trim).filter(n -> !n.isEmpty()).toList();
    }

    private static final List<String> NAMES = List.of(LAUNCHER, IMAGE_DIR, BUILD_KEY, GPU_MAP, CRIU_VERSION,
            CRIU_BINARY, DUMP_TIMEOUT_ENV, ENVIRONMENT);

    private static final class Received {
        static final Map<String, String> VARIABLES = new java.util.HashMap<>();
        static final Optional<LaunchHandoff> HANDOFF = receive();

        private static Optional<LaunchHandoff> receive() {
            Map<String, String> environment = System.getenv();
            NAMES.forEach(n -> {
                if (environment.get(n) != null) {
                    VARIABLES.put(n, environment.get(n));
                }
            });
            Optional<LaunchHandoff> handoff = fromEnvironment(VARIABLES);
            if (VARIABLES.get(LAUNCHER) != null) {
                keepFromChildren(NAMES);
            }
            return handoff;
        }
    }

    /**
     * Removes {@code names} from what this process's children inherit, so that a JVM the app
     * starts does not take the app's handoff for its own (and write its image under the app's
     * build key). Both places a child's environment comes from: the C environment (a
     * ProcessBuilder whose environment() was not touched passes none, so the child inherits it)
     * and the JDK's copy that environment() starts from (reachable where java.lang is open to
     * Cryo, as the launcher's JDK_JAVA_OPTIONS open it; System.getenv() no longer shows them then:
     * Cryo reads them through {@link #variable}). Children started before Cryo's classes load still
     * inherit them.
     */
    static void keepFromChildren(List<String> names) {
        for (String name : names) {
            try {
                dev.cryo.internal.os.LibC.unsetenv(name);
            } catch (RuntimeException | LinkageError e) {
                // without native access: the JDK's copy below is all that can be done
            }
        }
        try {
            java.lang.reflect.Field f = Class.forName("java.lang.ProcessEnvironment").getDeclaredField("theEnvironment");
            f.setAccessible(true);
            Map<?, ?> copy = (Map<?, ?>) f.get(null);
            if (copy != null) {
                synchronized (copy) {
                    copy.keySet().removeIf(k -> names.contains(k.toString()));
                }
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            // java.lang not open to Cryo: children given an environment of their own keep the names
        }
    }

    static Path requestFile(Path store, long pid) {
        return store.resolve(".restore-" + pid + ".properties");
    }

    /**
     * Writes the request of a restore of {@code pid} from {@code store}, made by this launcher
     * (whose stdin, stdout and stderr the restored process takes, descriptor by descriptor); returns
     * it, or null when it cannot be written and asks nothing else (no GPU map).
     */
    public static Path writeRestoreRequest(Path store, long pid, Map<String, String> gpuMap) {
        Path f = requestFile(store, pid);
        try {
            Files.deleteIfExists(f);
            // Written by hand, in the form Properties.load reads: Properties.store's date line costs
            // a fresh JVM 30 ms (the time zone data), on the restore's path.
            StringBuilder text = new StringBuilder("#Cryo restore request\n");
            text.append("launcher.pid=").append(ProcessHandle.current().pid()).append('\n');
            if (!gpuMap.isEmpty()) {
                text.append("gpu.map=").append(propertyValue(formatGpuMap(gpuMap))).append('\n');
            }
            Files.writeString(f, text, StandardCharsets.UTF_8);
            Permissions.ownerOnlyFile(f);
            return f;
        } catch (IOException e) {
            if (gpuMap.isEmpty()) { // a read-only store: the restored app keeps stdio as CRIU gave it
                return null;
            }
            throw new UncheckedIOException("cannot write the restore request " + f, e);
        }
    }

    /** Removes a restore request once the restore is over. */
    public static void removeRestoreRequest(Path request) {
        if (request != null) {
            try {
                Files.deleteIfExists(request);
            } catch (IOException e) {
                // A stale request is overwritten or removed by the next restore of this pid.
            }
        }
    }

    /** In a restored process: the GPU map its restore was asked for, empty when none. */
    public static Map<String, String> restoreGpuMap(Path store, long pid) {
        return parseGpuMap(readRequest(store, pid).getProperty("gpu.map", ""));
    }

    /** In a restored process: the launcher that restored it, whose stdio it takes; 0 when unknown. */
    public static long restoringLauncher(Path store, long pid) {
        try {
            return Long.parseLong(readRequest(store, pid).getProperty("launcher.pid", "0"));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static Properties readRequest(Path store, long pid) {
        Path f = requestFile(store, pid);
        Properties p = new Properties();
        if (Files.isRegularFile(f)) {
            try (Reader r = Files.newBufferedReader(f)) {
                p.load(r);
            } catch (IOException e) {
                return new Properties();
            }
        }
        return p;
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

    /** {@code value} escaped as Properties.load reads it back: backslashes and line breaks. */
    static String propertyValue(String value) {
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r");
    }

    private static String formatGpuMap(Map<String, String> map) {
        StringBuilder b = new StringBuilder();
        map.forEach((from, to) -> b.append(b.isEmpty() ? "" : ",").append(from).append('=').append(to));
        return b.toString();
    }
}
