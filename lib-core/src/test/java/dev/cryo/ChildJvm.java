package dev.cryo;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Starts child JVMs (the launcher, the test app) with their own stdout/stderr files, never
 * touching the test runner itself, and reads what they printed.
 */
final class ChildJvm {
    static final Path JAVA = Path.of(System.getProperty("java.home"), "bin", "java");
    static final String CLASS_PATH = System.getProperty("java.class.path");
    static final long TIMEOUT_SECONDS = 120;

    private ChildJvm() {}

    /** {@code java --enable-native-access=ALL-UNNAMED -cp <test class path> mainClass args...} */
    static List<String> java(String mainClass, String... args) {
        return javaWithClassPath(CLASS_PATH, mainClass, args);
    }

    /** {@code java --enable-native-access=ALL-UNNAMED -cp classPath mainClass args...} */
    static List<String> javaWithClassPath(String classPath, String mainClass, String... args) {
        List<String> cmd = new ArrayList<>(List.of(JAVA.toString(), "--enable-native-access=ALL-UNNAMED",
                "-Xshare:auto", "-cp", classPath, mainClass));
        cmd.addAll(Arrays.asList(args));
        return cmd;
    }

    /** The test class path without the entries whose file name starts with {@code prefix}; fails if none has. */
    static String classPathWithout(String prefix) {
        List<String> all = List.of(CLASS_PATH.split(java.io.File.pathSeparator));
        List<String> kept = all.stream().filter(e -> !Path.of(e).getFileName().toString().startsWith(prefix)).toList();
        assertTrue(kept.size() < all.size(), "no " + prefix + "* on the test class path: " + CLASS_PATH);
        return String.join(java.io.File.pathSeparator, kept);
    }

    /** The test app's command line. */
    static List<String> app(String... args) {
        return java("dev.cryo.testapp.StatefulApp", args);
    }

    /** {@code cryo run --image store [launcherArgs] -- command}. */
    static List<String> launcher(Path store, List<String> launcherArgs, List<String> command) {
        List<String> args = new ArrayList<>(List.of("run", "--image", store.toString()));
        args.addAll(launcherArgs);
        args.add("--");
        args.addAll(command);
        return java("dev.cryo.internal.launch.Launcher", args.toArray(String[]::new));
    }

    /** A finished child: exit status and its output files. */
    record Result(int exit, String out, String err) {
        String all() {
            return out + err;
        }

        boolean has(String text) {
            return all().contains(text);
        }

        /** The first line of stdout starting with {@code prefix}, or fails. */
        String line(String prefix) {
            return out.lines().filter(l -> l.startsWith(prefix)).findFirst()
                    .orElseGet(() -> fail("no line starting with '" + prefix + "' in:\n" + all()));
        }

        /** Lines of stdout starting with {@code prefix}, in order. */
        List<String> lines(String prefix) {
            return out.lines().filter(l -> l.startsWith(prefix)).toList();
        }

        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    static Process start(List<String> cmd, Path dir, String name, Map<String, String> env) throws IOException {
        Files.createDirectories(dir);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(dir.resolve(name + ".out").toFile())
                .redirectError(dir.resolve(name + ".err").toFile());
        // What a launcher running these tests would hand its app must not reach the children.
        pb.environment().keySet().removeAll(List.of("CRYO_LAUNCHER", "CRYO_IMAGE_DIR", "CRYO_BUILD_KEY"));
        pb.environment().putAll(env);
        return pb.start();
    }

    static Result run(List<String> cmd, Path dir, String name) throws Exception {
        return run(cmd, dir, name, Map.of());
    }

    static Result run(List<String> cmd, Path dir, String name, Map<String, String> env) throws Exception {
        Process p = start(cmd, dir, name, env);
        return finish(p, dir, name);
    }

    static Result finish(Process p, Path dir, String name) throws Exception {
        if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            fail(name + " did not finish in " + TIMEOUT_SECONDS + " s:\n" + read(dir, name));
        }
        return read(dir, name, p.exitValue());
    }

    static Result read(Path dir, String name, int exit) throws IOException {
        return new Result(exit, Files.readString(dir.resolve(name + ".out")), Files.readString(dir.resolve(name + ".err")));
    }

    private static String read(Path dir, String name) throws IOException {
        return read(dir, name, -1).toString();
    }

    /** Image directories in the store (committed ones). */
    static List<Path> images(Path store) throws IOException {
        if (!Files.isDirectory(store)) {
            return List.of();
        }
        try (var s = Files.list(store)) {
            return s.filter(p -> p.getFileName().toString().startsWith("img-")).sorted().toList();
        }
    }

    /** Unfinished (temporary) image directories in the store. */
    static List<Path> temporaries(Path store) throws IOException {
        if (!Files.isDirectory(store)) {
            return List.of();
        }
        try (var s = Files.list(store)) {
            return s.filter(p -> p.getFileName().toString().startsWith(".tmp-")).sorted().toList();
        }
    }

    /** Waits until {@code pid} no longer exists (the restored copy needs its PID back). */
    static void awaitGone(long pid) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (ProcessHandle.of(pid).isPresent()) {
            assertTrue(System.nanoTime() < deadline, "process " + pid + " is still alive");
            Thread.sleep(20);
        }
    }
}
