package dev.cryo.benchmarks;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One started process of a sample app (plain, or under {@code bin/cryo run}): it reads the
 * process's stdout and stderr (merged) line by line and tells when the first-answer line
 * {@code CRYO-TIME first_answer_epoch_ms=} appears. Started from the repository root (the JMH
 * forks inherit the working directory of {@code bin/bench}); the app command is the one of
 * {@code bin/demo}, so a benchmark measures what the demo shows.
 */
final class AppRun {
    static final String FIRST_ANSWER = "CRYO-TIME first_answer_epoch_ms=";
    private static final Pattern RESTORED = Pattern.compile("cryo: restored image (\\S+) in (\\d+) ms \\(pid (\\d+)\\)");
    private static final long TIMEOUT_S = 180;

    private final Process process;
    private final long startNanos;
    private final List<String> lines = new ArrayList<>();
    private final CompletableFuture<Long> firstAnswer = new CompletableFuture<>();
    private final Thread reader;
    private final String what;

    private AppRun(List<String> command) throws IOException {
        this.what = String.join(" ", command);
        ProcessBuilder pb = new ProcessBuilder(command)
                .directory(root().toFile())
                .redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        startNanos = System.nanoTime();
        process = pb.start();
        reader = Thread.ofPlatform().daemon().name("app-output").start(this::read);
    }

    /** Starts {@code command} now: the clock of {@link #awaitFirstAnswer()} starts here. */
    static AppRun start(List<String> command) {
        try {
            return new AppRun(command);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The repository root: {@code -Dcryo.bench.root}, else the working directory. */
    static Path root() {
        return Path.of(System.getProperty("cryo.bench.root", "")).toAbsolutePath();
    }

    /** The plain command of sample {@code app} ({@code SlowStartService}, ...), as bin/demo runs it. */
    static List<String> app(String app, List<String> jvmOptions, String... args) {
        String javaHome = System.getenv().getOrDefault("JAVA_HOME", System.getProperty("java.home"));
        List<String> cmd = new ArrayList<>();
        cmd.add(javaHome + "/bin/java");
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add("samples/target/cryo-samples.jar:samples/target/lib/*");
        cmd.add("dev.cryo.samples." + app);
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** {@code bin/cryo run --image images -- command}. */
    static List<String> underCryo(Path images, List<String> command) {
        List<String> cmd = new ArrayList<>(List.of(root().resolve("bin/cryo").toString(), "run", "--image",
                images.toString(), "--"));
        cmd.addAll(command);
        return cmd;
    }

    /** The JVM options of a GC setting: none for the default (GC before the dump), else -Dcryo.noGc=true. */
    static List<String> gcOptions(boolean gc) {
        return gc ? List.of() : List.of("-Dcryo.noGc=true");
    }

    private void read() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (!firstAnswer.isDone() && line.startsWith(FIRST_ANSWER)) {
                    firstAnswer.complete(System.nanoTime() - startNanos);
                }
                synchronized (lines) {
                    lines.add(line);
                }
            }
        } catch (IOException e) {
            firstAnswer.completeExceptionally(e);
        } finally {
            firstAnswer.completeExceptionally(new IllegalStateException("no first answer from " + what + ":\n" + output()));
        }
    }

    /** Blocks until the first-answer line appears; returns the nanoseconds since the start. */
    long awaitFirstAnswer() throws Exception {
        return firstAnswer.get(TIMEOUT_S, TimeUnit.SECONDS);
    }

    /** Waits for the process to end (so that its PID is free again) and returns its whole output. */
    String finish() throws Exception {
        try {
            if (!process.waitFor(TIMEOUT_S, TimeUnit.SECONDS)) {
                throw new IllegalStateException("still running after " + TIMEOUT_S + " s: " + what);
            }
            reader.join(TimeUnit.SECONDS.toMillis(10));
            if (process.exitValue() != 0) {
                throw new IllegalStateException("exit status " + process.exitValue() + " of " + what + ":\n" + output());
            }
            return output();
        } finally {
            if (process.isAlive()) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    String output() {
        synchronized (lines) {
            return String.join("\n", lines);
        }
    }

    /** The launcher's own restore time ({@code cryo: restored image X in N ms}), or -1 if it did not restore. */
    static long launcherRestoreMillis(String output) {
        Matcher m = RESTORED.matcher(output);
        return m.find() ? Long.parseLong(m.group(2)) : -1;
    }

    /**
     * Waits (up to 10 s) until the restored process named in the launcher's line
     * {@code cryo: restored image X in N ms (pid P)} is gone, so that the next restore finds its PID
     * free; the launcher has normally reaped it already, as its child.
     */
    static void awaitRestoredGone(String output) throws InterruptedException {
        Matcher m = RESTORED.matcher(output);
        if (!m.find()) {
            return;
        }
        long pid = Long.parseLong(m.group(3));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("restored process " + pid + " still alive after its launcher ended");
            }
            Thread.sleep(10);
        }
    }

    /** Runs {@code command} under bin/cryo into {@code images} to its end: the app writes its image there. */
    static Map<String, String> checkpointInto(Path images, List<String> command) throws Exception {
        AppRun run = start(underCryo(images, command));
        run.awaitFirstAnswer();
        String out = run.finish();
        if (!out.contains("Checkpoint image ")) {
            throw new IllegalStateException("no image written:\n" + out);
        }
        return newestImage(images);
    }

    /** The cryo-image.properties of the newest image in {@code images}, sorted by key. */
    static Map<String, String> newestImage(Path images) throws IOException {
        Path props;
        try (Stream<Path> s = Files.list(images)) {
            props = s.filter(p -> p.getFileName().toString().startsWith("img-"))
                    .map(p -> p.resolve("cryo-image.properties")).filter(Files::isRegularFile)
                    .max(Comparator.comparing(Path::toString))
                    .orElseThrow(() -> new IllegalStateException("no image in " + images));
        }
        Properties p = new Properties();
        try (var in = Files.newInputStream(props)) {
            p.load(in);
        }
        Map<String, String> m = new TreeMap<>();
        p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k)));
        return m;
    }

    static void deleteTree(Path dir) throws IOException {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /**
     * Appends {@code row} to CSV file {@code name} in $CRYO_BENCH_OUT (when set), writing
     * {@code header} first into a new file. The benchmark forks write these next to JMH's JSON.
     */
    static synchronized void appendCsv(String name, String header, String row) throws IOException {
        String dir = System.getenv("CRYO_BENCH_OUT");
        if (dir == null || dir.isEmpty()) {
            return;
        }
        Path file = Path.of(dir, name);
        Files.createDirectories(file.getParent());
        boolean fresh = !Files.exists(file);
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND)) {
            if (fresh) {
                w.write(header + "\n");
            }
            w.write(row + "\n");
        }
    }
}
