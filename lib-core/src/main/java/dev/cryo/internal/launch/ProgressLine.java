package dev.cryo.internal.launch;

import dev.cryo.internal.ImageStore;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * One line on a terminal that shows how a checkpoint or restore is going (step, bytes, rate), for
 * one that takes longer than {@link #DELAY_MILLIS}; redrawn in place with a carriage return and
 * erased when done. Shown only where the launcher's stderr is a terminal and not {@code --quiet},
 * so logs and pipes never get it. A daemon thread samples; the launcher's own work is not slowed.
 */
final class ProgressLine implements AutoCloseable {
    static final long DELAY_MILLIS = 1000;
    private static final long TICK_MILLIS = 250;
    private static final String ERASE = "\r\033[K";

    /** What the sampler sees now: the step, the bytes so far and, when known, of how many. */
    record Sample(String step, long bytes, long totalBytes) {}

    private final Thread thread;
    private final PrintStream terminal;
    private volatile boolean drawn;

    private ProgressLine(PrintStream terminal, String what, Supplier<Optional<Sample>> sampler, long delayMillis) {
        this.terminal = terminal;
        this.thread = Thread.ofPlatform().daemon().name("cryo-progress").unstarted(() -> {
            long start = System.nanoTime();
            long lastBytes = -1;
            long lastNanos = start;
            double rate = 0;
            try {
                Thread.sleep(delayMillis);
                while (!Thread.currentThread().isInterrupted()) {
                    Optional<Sample> s = sampler.get();
                    long now = System.nanoTime();
                    if (s.isPresent()) {
                        if (!drawn) { // it began when the sampler first had something, at least the delay ago
                            start = now - delayMillis * 1_000_000;
                        }
                        if (lastBytes >= 0 && now > lastNanos) {
                            rate = (s.get().bytes() - lastBytes) / ((now - lastNanos) / 1e9);
                        }
                        lastBytes = s.get().bytes();
                        lastNanos = now;
                        synchronized (terminal) {
                            terminal.print(ERASE + format(what, s.get(), rate, (now - start) / 1_000_000));
                            terminal.flush();
                        }
                        drawn = true;
                    } else if (drawn) {
                        erase();
                    }
                    Thread.sleep(TICK_MILLIS);
                }
            } catch (InterruptedException e) {
                // closed
            }
        });
    }

    /**
     * Starts a progress line on {@code terminal} (nothing when it is null) once {@code delayMillis}
     * have passed; {@code sampler} returns empty while there is nothing to show.
     */
    static ProgressLine start(PrintStream terminal, String what, Supplier<Optional<Sample>> sampler, long delayMillis) {
        ProgressLine p = new ProgressLine(terminal, what, sampler, delayMillis);
        if (terminal != null) {
            p.thread.start();
        }
        return p;
    }

    static String format(String what, Sample s, double bytesPerSecond, long elapsedMillis) {
        String total = s.totalBytes() > 0 ? String.format(Locale.ROOT, " of %.1f", s.totalBytes() / 1e6) : "";
        return String.format(Locale.ROOT, "cryo: %s: %s, %.1f%s MB, %.0f MB/s, %.1f s", what, s.step(),
                s.bytes() / 1e6, total, Math.max(0, bytesPerSecond) / 1e6, elapsedMillis / 1000.0);
    }

    private void erase() {
        synchronized (terminal) {
            terminal.print(ERASE);
            terminal.flush();
        }
        drawn = false;
    }

    @Override
    public void close() {
        if (!thread.isAlive()) {
            return;
        }
        thread.interrupt();
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (drawn) {
            erase();
        }
    }

    /** A restore's progress: the restored process's resident memory against what it had at checkpoint. */
    static Supplier<Optional<Sample>> restoreOf(long pid, long residentBytes) {
        Path statm = Path.of("/proc", Long.toString(pid), "statm");
        return () -> {
            try {
                String[] f = Files.readString(statm).trim().split(" ");
                return Optional.of(new Sample("CRIU restoring memory", Long.parseLong(f[1]) * 4096, residentBytes));
            } catch (IOException | RuntimeException e) {
                return Optional.of(new Sample("CRIU starting", 0, residentBytes));
            }
        };
    }

    /**
     * A checkpoint's progress: the unfinished image in {@code store} ({@code .tmp-*}) as it grows,
     * its step told by the files being written. Empty while there is none, or while it is younger than
     * {@code delayMillis}.
     */
    static Supplier<Optional<Sample>> checkpointOf(Path store, long delayMillis) {
        Map<Path, Long> firstSeen = new java.util.concurrent.ConcurrentHashMap<>();
        return () -> {
            if (!Files.isDirectory(store)) {
                return Optional.empty();
            }
            try (DirectoryStream<Path> tmps = Files.newDirectoryStream(store, ImageStore.TEMP_PREFIX + "2*")) {
                for (Path tmp : tmps) {
                    // A checkpoint shows once it has taken longer than the delay, however long the app ran before.
                    long seen = firstSeen.computeIfAbsent(tmp, t -> System.nanoTime());
                    if (System.nanoTime() - seen < delayMillis * 1_000_000) {
                        return Optional.empty();
                    }
                    Map<String, Long> parts = InspectVerb.parts(filesOf(tmp));
                    long bytes = parts.values().stream().mapToLong(Long::longValue).sum();
                    String step = parts.get("criuPages") > 0 || parts.get("criuOther") > 0 ? "CRIU dump"
                            : parts.get("gpuMemory") > 0 ? "GPU memory to files"
                            : parts.get("deviceMemory") > 0 ? "device memory to files"
                            : parts.get("storedFiles") > 0 ? "storing files" : "preparing";
                    return Optional.of(new Sample(step, bytes, 0));
                }
            } catch (IOException | RuntimeException e) {
                // gone meanwhile
            }
            return Optional.empty();
        };
    }

    private static Map<String, Long> filesOf(Path dir) throws IOException {
        Map<String, Long> files = new java.util.TreeMap<>();
        try (DirectoryStream<Path> all = Files.newDirectoryStream(dir)) {
            for (Path f : all) {
                try {
                    files.put(f.getFileName().toString(), Files.size(f));
                } catch (IOException e) {
                    // gone meanwhile
                }
            }
        }
        return files;
    }

    /** Whether this process's stderr is a terminal (without native code: where descriptor 2 points). */
    static boolean stderrIsTerminal() {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return false;
        }
    }
}
