package dev.cryo.internal.criu;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * CRIU's lazy-pages daemon ({@code criu lazy-pages -D IMAGES -W WORK}) for one restore: it listens
 * on {@code lazy-pages.socket} in the work directory, receives the restored tasks' userfaultfds from
 * a restore made with {@link CriuRequest#lazyPages()} in the same work directory, serves each page
 * on its first touch and copies all the others in the background, then exits 0.
 *
 * <p>While it runs, the restored process is not whole: its pages not yet copied exist only in the
 * image. If the daemon dies before it is done, the kernel drops the userfaultfd registration and
 * those pages read as zeros; whoever started it must end the restored process then.
 */
public final class LazyPagesDaemon implements AutoCloseable {
    /** Its log, in the work directory. */
    public static final String LOG = "lazy-pages.log";
    private static final String STDERR = "lazy-pages.stderr";
    private static final String FEATURE = "uffd-noncoop";

    private final Process process;
    private final Path work;
    private final CompletableFuture<Boolean> ready = new CompletableFuture<>();

    private LazyPagesDaemon(Process process, Path work) {
        this.process = process;
        this.work = work;
        // --status-fd 1: it writes one NUL to stdout once its socket listens, then closes it.
        Thread.ofPlatform().daemon().name("lazy-pages-ready").start(() -> {
            try (InputStream in = process.getInputStream()) {
                ready.complete(in.read() == 0);
            } catch (IOException e) {
                ready.complete(false);
            }
        });
    }

    /**
     * Starts the daemon for the image in {@code images}, with {@code work} as its working directory
     * (where the restore must find its socket); it runs until all pages are in, or until killed.
     */
    public static LazyPagesDaemon start(CriuLocation location, Path images, Path work, int logLevel) {
        List<String> command = List.of(location.binary().toString(), "lazy-pages", "-D", images.toString(),
                "-W", work.toString(), "-o", LOG, "-v" + logLevel, "--status-fd", "1");
        try {
            Process p = new ProcessBuilder(command).directory(work.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectError(work.resolve(STDERR).toFile()).start();
            return new LazyPagesDaemon(p, work);
        } catch (IOException e) {
            throw new CriuUnavailableException("Cannot start CRIU's lazy-pages daemon (" + location.binary() + "): "
                    + e.getMessage(), e);
        }
    }

    /**
     * Waits until the daemon listens for the restore; returns empty when it does, else why not
     * (it exited, or did not get ready in time: then it is killed).
     */
    public Optional<String> awaitReady(Duration limit) {
        try {
            if (ready.get(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                return Optional.empty();
            }
        } catch (TimeoutException e) {
            kill();
            return Optional.of("CRIU's lazy-pages daemon was not ready after " + limit.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            kill();
            return Optional.of("interrupted while waiting for CRIU's lazy-pages daemon");
        } catch (ExecutionException e) {
            // read() never completes exceptionally; treated as not ready below
        }
        kill();
        return Optional.of("CRIU's lazy-pages daemon ended before it was ready" + exitDescription());
    }

    /** The daemon's process (to wait for it, or for its pid). */
    public Process process() {
        return process;
    }

    /** Waits up to {@code limit} for the daemon to exit; returns its exit status, or empty if it still runs. */
    public Optional<Integer> awaitExit(Duration limit) throws InterruptedException {
        return process.waitFor(limit.toNanos(), TimeUnit.NANOSECONDS) ? Optional.of(process.exitValue())
                : Optional.empty();
    }

    /** Ends the daemon (SIGKILL) and waits for it; harmless when it has already exited. */
    public void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Its log file (and anything it wrote to stderr), for messages. */
    public Path log() {
        return work.resolve(LOG);
    }

    /**
     * Moves the daemon's log (with its stderr appended, when it wrote any) to {@code target}; returns
     * where the log is now, or empty when there was none.
     */
    public Optional<Path> keepLog(Path target) {
        Path log = log();
        try {
            Path stderr = work.resolve(STDERR);
            if (Files.isRegularFile(stderr) && Files.size(stderr) > 0) {
                Files.write(log, Files.readAllBytes(stderr), java.nio.file.StandardOpenOption.CREATE,
                        java.nio.file.StandardOpenOption.APPEND);
            }
            if (!Files.isRegularFile(log)) {
                return Optional.empty();
            }
            Files.move(log, target, StandardCopyOption.REPLACE_EXISTING);
            return Optional.of(target);
        } catch (IOException e) {
            return Files.isRegularFile(log) ? Optional.of(log) : Optional.empty();
        }
    }

    private String exitDescription() {
        return process.isAlive() ? "" : " (exit status " + process.exitValue() + "; see " + log() + ")";
    }

    /** Kills the daemon if it still runs. */
    @Override
    public void close() {
        if (process.isAlive()) {
            kill();
        }
    }

    /**
     * Why lazy restore cannot work here, or empty when it can: {@code criu check --feature
     * uffd-noncoop} (userfaultfd with the events CRIU needs to follow a restored process), run once
     * per kernel, criu binary and user, its answer kept in {@code $CRYO_HOME/criu-features.properties}.
     */
    public static Optional<String> unsupported(CriuLocation location) {
        Path cache = CriuLocation.cryoHome().resolve("criu-features.properties");
        String key = featureKey(location.binary());
        Properties known = new Properties();
        try (InputStream in = Files.newInputStream(cache)) {
            known.load(in);
        } catch (IOException e) {
            // No answer kept yet.
        }
        if (key.equals(known.getProperty(FEATURE + ".key"))) {
            String answer = known.getProperty(FEATURE, "");
            return answer.equals("supported") ? Optional.empty() : Optional.of(answer);
        }
        Optional<String> problem = check(location.binary());
        known.setProperty(FEATURE + ".key", key);
        known.setProperty(FEATURE, problem.orElse("supported"));
        try {
            Files.createDirectories(cache.getParent());
            Path tmp = Files.createTempFile(cache.getParent(), ".criu-features-", ".tmp");
            try (var out = Files.newOutputStream(tmp)) {
                known.store(out, "Answers of 'criu check --feature', per kernel, criu binary and user (Cryo)");
            }
            Files.move(tmp, cache, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | UncheckedIOException e) {
            // Not kept: the next start asks CRIU again.
        }
        return problem;
    }

    private static Optional<String> check(Path binary) {
        try {
            Process p = new ProcessBuilder(binary.toString(), "check", "--feature", FEATURE).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return Optional.of("'criu check --feature " + FEATURE + "' did not answer in 30 s");
            }
            if (p.exitValue() == 0) {
                return Optional.empty();
            }
            String text = new String(out, StandardCharsets.UTF_8).strip().replace('\n', ' ');
            return Optional.of("this kernel or CRIU lacks userfaultfd support ('criu check --feature " + FEATURE
                    + "': " + (text.isEmpty() ? "exit " + p.exitValue() : text) + ")");
        } catch (IOException e) {
            return Optional.of("cannot run " + binary + " check: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.of("interrupted while running criu check");
        }
    }

    private static String featureKey(Path binary) {
        String kernel;
        try {
            kernel = Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
        } catch (IOException e) {
            kernel = "?";
        }
        String file;
        try {
            Path real = binary.toRealPath();
            file = real + ":" + Files.size(real) + ":" + Files.getLastModifiedTime(real).toMillis();
        } catch (IOException e) {
            file = binary.toString();
        }
        Object uid;
        try {
            uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | RuntimeException e) {
            uid = System.getProperty("user.name");
        }
        return kernel + "|" + file + "|uid " + uid;
    }
}
