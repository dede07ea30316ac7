package dev.cryo.internal.launch;

import dev.cryo.internal.ImageStore;
import dev.cryo.internal.criu.CriuLocation;
import dev.cryo.internal.criu.LazyPagesDaemon;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The launcher's side of one lazy restore: it starts CRIU's lazy-pages daemon before the restore,
 * then watches it while the restored app runs, until every page is in memory.
 *
 * <p>The restored app is whole only once the daemon has exited 0. Should the daemon die first, the
 * kernel unregisters the app's memory from the userfaultfd and the pages not yet copied would read
 * as zeros: the app would go on with silently wrong memory. So when the daemon fails, or has not
 * finished within {@link #limit} of the restore, the watcher
 * kills the app (SIGKILL), kills the daemon, keeps the daemon's log as
 * {@value #FAILED_LOG} in the image directory and says so; the launcher then exits with the app's
 * status (137). The daemon is never left running: it ends by itself once all pages are in (or the
 * app has exited), and {@link #finish()} kills it otherwise.
 *
 * <p>The image's files must stay readable until the daemon is done: the daemon opens the page files
 * when the restore hands it the app's memory, so an image deleted after that point is still read
 * through the open files; images are never rewritten in place.
 */
final class LazyRestore {
    static final String FAILED_LOG = "last-failed-lazy-pages.log";
    private static final Duration READY_LIMIT = Duration.ofSeconds(10);
    private static final Duration AFTER_APP_LIMIT = Duration.ofSeconds(10);

    private final LazyPagesDaemon daemon;
    private final Path work;
    private final Path store;
    private final String imageId;
    private final long startNanos;
    private final Consumer<String> say;
    private final Duration limit;
    private final Object appLock = new Object();
    private ProcessHandle app;
    private boolean appEnded;
    private Thread watcher;

    /** System property of the launcher's JVM: the longest the daemon may take, in seconds. */
    static final String TIMEOUT_PROPERTY = "cryo.restore.lazyTimeoutSeconds";
    private static final Duration LEAST_LIMIT = Duration.ofSeconds(60);

    private LazyRestore(LazyPagesDaemon daemon, Path work, Path store, String imageId, long startNanos,
            Consumer<String> say, Duration limit) {
        this.daemon = daemon;
        this.work = work;
        this.store = store;
        this.imageId = imageId;
        this.startNanos = startNanos;
        this.say = say;
        this.limit = limit;
    }

    /**
     * Starts the daemon for {@code image}, working in {@code work} (the restore's work directory);
     * {@code restoreLimit} is the longest the restore itself may take ({@link RestoreTimeout}).
     */
    static LazyRestore start(CriuLocation criu, ImageStore.Image image, Path work, Path store, long startNanos,
            int logLevel, Consumer<String> say, Duration restoreLimit) {
        LazyPagesDaemon daemon = LazyPagesDaemon.start(criu, image.dir(), work, logLevel);
        return new LazyRestore(daemon, work, store, image.id(), startNanos, say,
                limit(System.getProperty(TIMEOUT_PROPERTY), restoreLimit));
    }

    /**
     * The longest the daemon may take to bring every page in: {@code property} (seconds) when set,
     * else the restore's own limit, at least 60 s. The daemon copies the whole image, as an eager
     * restore would, so a large image (which the launcher restores lazily where page faults are dear)
     * gets the time an eager restore of it would be given, not a fixed minute.
     */
    static Duration limit(String property, Duration restoreLimit) {
        if (property != null) {
            try {
                return Duration.ofMillis((long) (1000 * Double.parseDouble(property)));
            } catch (NumberFormatException e) {
                // the default, then (as for the restore's own limit)
            }
        }
        return restoreLimit.compareTo(LEAST_LIMIT) > 0 ? restoreLimit : LEAST_LIMIT;
    }

    /** Empty once the daemon listens for the restore; else why not (the daemon is then ended, its log kept). */
    Optional<String> awaitReady() {
        Optional<String> problem = daemon.awaitReady(READY_LIMIT);
        if (problem.isPresent()) {
            Optional<Path> log = daemon.keepLog(store.resolve(FAILED_LOG));
            return Optional.of(problem.get() + log.map(l -> " (its log: " + l + ")").orElse(""));
        }
        return problem;
    }

    /**
     * The restore failed or was not made: ends the daemon, and the app too if it was already
     * restored (without the daemon its memory is not whole); returns where the daemon's log was
     * kept, when {@code keepLog} (not for an attempt that is retried).
     */
    Optional<Path> abandon(boolean keepLog) {
        synchronized (appLock) {
            if (app != null && !appEnded) {
                app.destroyForcibly();
            }
        }
        daemon.kill();
        return keepLog ? daemon.keepLog(store.resolve(FAILED_LOG)) : Optional.empty();
    }

    /** The restore succeeded: watches the daemon until all of {@code appPid}'s pages are in. */
    void watch(int appPid) {
        synchronized (appLock) {
            app = ProcessHandle.of(appPid).orElse(null);
        }
        watcher = Thread.ofPlatform().daemon().name("lazy-pages-watch").start(this::watchDaemon);
    }

    private void watchDaemon() {
        Optional<Integer> exit;
        try {
            exit = daemon.awaitExit(limit);
        } catch (InterruptedException e) {
            exit = Optional.empty();
        }
        if (exit.isPresent() && exit.get() == 0) {
            long ms = (System.nanoTime() - startNanos) / 1_000_000;
            say.accept("lazy restore of image " + imageId + ": all pages in memory after " + ms + " ms");
            ImageStore.deleteTree(work);
            return;
        }
        boolean killed;
        synchronized (appLock) {
            // The handle checks the process's start time, so a PID reused after the app ended is safe.
            killed = !appEnded && app != null && app.isAlive() && app.destroyForcibly();
        }
        daemon.kill();
        Optional<Path> log = daemon.keepLog(store.resolve(FAILED_LOG));
        String what = exit.map(status -> "CRIU's lazy-pages daemon exited with status " + status)
                .orElse("CRIU's lazy-pages daemon had not brought all pages in after " + limit.toMillis() + " ms");
        say.accept("lazy restore of image " + imageId + " failed: " + what + (killed
                ? ". The app was killed: its pages not yet copied would have read as zeros."
                : ", after the app had ended.")
                + log.map(l -> "\n  The daemon's log: " + l).orElse("")
                + "\n  Restore eagerly with 'cryo run --restore-mode eager' (or -Dcryo.restore.lazy=false)"
                + (exit.isEmpty() ? ", or allow more time with -D" + TIMEOUT_PROPERTY + "=N" : "") + ".");
        ImageStore.deleteTree(work);
    }

    /**
     * The app has ended (and been reaped): waits a little for the daemon, which ends once it sees the
     * app gone, and kills it if it does not.
     */
    void finish() {
        synchronized (appLock) {
            appEnded = true;
        }
        try {
            watcher.join(AFTER_APP_LIMIT.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (watcher.isAlive()) {
            daemon.kill();
            try {
                watcher.join(AFTER_APP_LIMIT.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
