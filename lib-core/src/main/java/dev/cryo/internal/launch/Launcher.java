package dev.cryo.internal.launch;

import dev.cryo.internal.BuildKey;
import dev.cryo.internal.GpuInventory;
import dev.cryo.internal.ImageMetadata;
import dev.cryo.internal.ImageStore;
import dev.cryo.internal.OpenFiles;
import dev.cryo.internal.ProcessFacts;
import dev.cryo.internal.RestoreRequest;
import dev.cryo.internal.RuntimeKey;
import dev.cryo.internal.StoredFiles;
import dev.cryo.internal.criu.CriuException;
import dev.cryo.internal.cuda.GpuDevice;
import dev.cryo.internal.criu.CriuLocation;
import dev.cryo.internal.criu.CriuRequest;
import dev.cryo.internal.criu.CriuUnavailableException;
import dev.cryo.internal.criu.LibCriu;
import dev.cryo.internal.os.LibC;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import sun.misc.Signal;

/**
 * {@code bin/cryo}: starts an app from its newest fitting image, or cold when there is none.
 *
 * <pre>
 * cryo run --image DIR [--pid-wait SECONDS] [--gpu-map OLD=NEW,...] [--restore-mode eager|lazy] [--quiet] [--cold]
 *          -- COMMAND...
 * cryo list --image DIR [-- COMMAND...]
 * </pre>
 *
 * A restored app becomes this launcher's child and writes to the launcher's stdin, stdout and
 * stderr; signals TERM, INT and HUP are passed on to it; the launcher exits with the app's status.
 * A missing, foreign, damaged or unrestorable image never stops the start: the reason is printed
 * and the app starts cold, with the image directory handed to it for its {@code checkpointNow()}.
 */
public final class Launcher {
    static final int USAGE = 2;
    private static final String[] FORWARDED_SIGNALS = {"TERM", "INT", "HUP"};
    private static final Map<String, Integer> SIGNAL_NUMBERS = Map.of("TERM", 15, "INT", 2, "HUP", 1);

    private final PrintStream err;
    private Path store;
    private boolean quiet;
    private boolean cold;
    private String gpuMap;
    private RestoreMode restoreMode; // null: RestoreMode.choose decides
    private Duration pidWait = Duration.ofSeconds(5);
    private List<String> command = List.of();
    private final long startNanos = System.nanoTime();
    private final Map<String, Long> phases = new LinkedHashMap<>(); // restore-path phases, ms
    private long phaseStart = startNanos;
    // How long the JVM took to reach the launcher (not counted in startNanos).
    private static final long JVM_UPTIME_AT_MAIN = System.currentTimeMillis() - ProcessFacts.startEpochMillis();

    private void phase(String name) {
        long now = System.nanoTime();
        phases.merge(name, (now - phaseStart) / 1_000_000, Long::sum);
        phaseStart = now;
    }

    Launcher(PrintStream err) {
        this.err = err;
    }

    public static void main(String[] args) {
        System.exit(new Launcher(System.err).run(args));
    }

    int run(String[] args) {
        if (args.length == 0 || args[0].equals("help") || args[0].equals("--help")) {
            usage(null);
            return args.length == 0 ? USAGE : 0;
        }
        String verb = args[0];
        String problem = parse(Arrays.copyOfRange(args, 1, args.length));
        if (problem != null) {
            usage(problem);
            return USAGE;
        }
        return switch (verb) {
            case "run" -> command.isEmpty() ? usage("no command after --") : runApp();
            case "list" -> list();
            default -> usage("unknown command '" + verb + "'");
        };
    }

    private String parse(String[] args) {
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--image" -> {
                    if (++i >= args.length) {
                        return "--image needs a directory";
                    }
                    store = Path.of(args[i]).toAbsolutePath().normalize();
                }
                case "--pid-wait" -> {
                    if (++i >= args.length) {
                        return "--pid-wait needs seconds";
                    }
                    pidWait = Duration.ofMillis((long) (Double.parseDouble(args[i]) * 1000));
                }
                case "--quiet" -> quiet = true;
                case "--gpu-map" -> {
                    if (++i >= args.length) {
                        return "--gpu-map needs OLD=NEW[,OLD=NEW...] (GPU indexes or UUIDs)";
                    }
                    gpuMap = args[i];
                }
                case "--cold" -> cold = true;
                case "--restore-mode" -> {
                    if (++i >= args.length || RestoreMode.parse(args[i]).isEmpty()) {
                        return "--restore-mode needs eager or lazy";
                    }
                    restoreMode = RestoreMode.parse(args[i]).get();
                }
                case "--" -> {
                    command = List.of(Arrays.copyOfRange(args, i + 1, args.length));
                    i = args.length;
                }
                default -> {
                    return "unknown option '" + args[i] + "'";
                }
            }
        }
        return store == null ? "--image DIR is required" : null;
    }

    private int usage(String problem) {
        if (problem != null) {
            err.println("cryo: " + problem);
        }
        err.println("usage: cryo run --image DIR [--pid-wait SECONDS] [--gpu-map OLD=NEW,...]"
                + " [--restore-mode eager|lazy] [--quiet] [--cold] -- COMMAND...");
        err.println("       cryo list --image DIR [-- COMMAND...]");
        err.println("  run   restores COMMAND from its newest fitting image in DIR, or starts it cold;");
        err.println("        a cold app's Checkpointer.checkpointNow() writes its image into DIR.");
        err.println("        --restore-mode lazy lets the app run at once while CRIU brings its memory in (where the");
        err.println("        kernel allows it); eager, the default, brings all of it in first.");
        err.println("  list  shows the images in DIR and, given COMMAND, which one fits it.");
        return USAGE;
    }

    private int runApp() {
        Optional<String> jdkProblem = JavaVersionCheck.problem(command);
        if (jdkProblem.isPresent()) {
            err.println("cryo: " + jdkProblem.get());
            return USAGE;
        }
        Path cwd = Path.of("").toAbsolutePath();
        String key = BuildKey.of(command, cwd);
        phase("buildKey");
        ImageStore images = new ImageStore(store);
        int stale = images.removeStale();
        if (stale > 0) {
            say("removed " + stale + " unfinished image(s) left by checkpoints that did not complete");
        }
        if (!cold) {
            Optional<ImageStore.Image> fit = choose(images, key);
            phase("chooseImage");
            if (fit.isPresent()) {
                OptionalInt restored = restore(fit.get());
                if (restored.isPresent()) {
                    return restored.getAsInt();
                }
            }
        }
        return startCold(key);
    }

    /** The newest image that is whole and made from this command; prints why others do not fit. */
    private Optional<ImageStore.Image> choose(ImageStore images, String key) {
        List<ImageStore.Image> all = images.images();
        if (all.isEmpty()) {
            say("no image in " + store + " yet: starting cold; the app's checkpointNow() will write one");
            return Optional.empty();
        }
        Map<String, String> runtime = RuntimeKey.current();
        List<GpuDevice> gpus = GpuInventory.present();
        for (ImageStore.Image image : all) {
            Optional<String> defect = image.defect();
            if (defect.isPresent()) {
                say("image " + image.id() + " cannot be used: " + defect.get());
                continue;
            }
            Optional<String> runtimeMisfit = RuntimeKey.misfit(image.metadata().asMap(), runtime);
            if (runtimeMisfit.isPresent() && key.equals(image.metadata().get("build.key"))) {
                say("image " + image.id() + " is for another machine: " + runtimeMisfit.get());
                continue;
            }
            Optional<String> gpuMisfit = GpuInventory.misfit(image.metadata().asMap(), gpus,
                    RestoreRequest.parseGpuMap(gpuMap));
            if (gpuMisfit.isPresent()) {
                say("image " + image.id() + " cannot be restored here: " + gpuMisfit.get());
                continue;
            }
            Set<String> stored = StoredFiles.paths(image.metadata().asMap());
            Optional<String> filesMisfit = OpenFiles.misfit(image.metadata().asMap(), stored);
            if (filesMisfit.isPresent() && key.equals(image.metadata().get("build.key"))) {
                say("image " + image.id() + " cannot be restored now: " + filesMisfit.get());
                continue;
            }
            if (!key.equals(image.metadata().get("build.key"))) {
                say("image " + image.id() + " was made from another command or build (class path, JDK or"
                        + " arguments differ)");
                continue;
            }
            return Optional.of(image);
        }
        say("no fitting image in " + store + ": starting cold");
        return Optional.empty();
    }

    /** Restores {@code image}; returns the app's exit status, or empty when the restore failed. */
    private OptionalInt restore(ImageStore.Image image) {
        ImageMetadata meta = image.metadata();
        int pid = (int) meta.getLong("pid", -1);
        LibCriu criu;
        try {
            criu = LibCriu.load(CriuLocation.resolve(null, null));
        } catch (CriuUnavailableException e) {
            say("cannot restore image " + image.id() + ": " + e.getMessage() + " Starting cold.");
            return OptionalInt.empty();
        }
        phase("loadLibcriu");
        Map<String, String> all = meta.asMap();
        try {
            for (String path : StoredFiles.putBack(all, image.dir())) {
                say("put back " + path + " as it was at checkpoint (kept in the image)");
            }
        } catch (IOException | RuntimeException e) {
            say("cannot put back the files kept in image " + image.id() + ": " + e + ". Starting cold.");
            return OptionalInt.empty();
        }
        for (String path : OpenFiles.changedSameSize(all, StoredFiles.paths(all))) {
            say("warning: " + path + " changed since the checkpoint (same size); the restored app reads the new"
                    + " contents. Keep it in the image (CheckpointOptions.storeFiles) if it must not change.");
        }
        Path restoreRequest = RestoreRequest.write(store, pid, gpuMap);
        long deadline = System.nanoTime() + pidWait.toNanos();
        Path work;
        try {
            work = Files.createTempDirectory("cryo-restore-");
        } catch (IOException e) {
            say("cannot create a working directory for CRIU: " + e + ". Starting cold.");
            return OptionalInt.empty();
        }
        int logLevel = Integer.getInteger("cryo.criu.logLevel", 2);
        RestoreMode mode = RestoreMode.choose(restoreMode, meta, criu.location(), this::say);
        phase("restoreMode");
        LazyRestore lazy = null;
        int attempts = 0;
        while (true) {
            attempts++;
            List<Integer> fds = new ArrayList<>();
            if (mode == RestoreMode.LAZY) {
                try { // started first: its start overlaps with preparing the request
                    lazy = LazyRestore.start(criu.location(), image, work, store, startNanos, logLevel, this::say);
                } catch (CriuUnavailableException e) {
                    say("restoring eagerly: " + e.getMessage());
                    mode = RestoreMode.EAGER;
                }
            }
            try (CriuRequest request = criu.newRequest()) {
                request.imagesDirectory(image.dir()).workDirectory(work).log("restore.log", logLevel)
                        .shellJob(true)
                        .tcpEstablished(meta.getBoolean("options.tcpEstablished"))
                        .externalUnixSockets(meta.getBoolean("options.externalUnixSockets"))
                        .fileLocks(meta.getBoolean("options.fileLocks"));
                inheritStdio(request, meta, fds);
                inheritDumpDirectory(request, meta, image.dir(), fds);
                if (lazy != null) {
                    phase("prepareRequest");
                    Optional<String> notReady = lazy.awaitReady();
                    phase("lazyPagesReady");
                    if (notReady.isPresent()) {
                        say("restoring eagerly: " + notReady.get());
                        mode = RestoreMode.EAGER;
                        lazy = null;
                    } else {
                        request.lazyPages();
                    }
                }
                phase("prepareRequest");
                int child = request.restoreChild();
                phase("criuRestore");
                long ms = (System.nanoTime() - startNanos) / 1_000_000;
                say("restored image " + image.id() + " in " + ms + " ms (pid " + child + ")");
                // Where the time went, in a fixed form for benchmarks; the JVM's start precedes startNanos.
                say("restore timing (ms): jvmStart=" + JVM_UPTIME_AT_MAIN + " " + phases + " mode="
                        + mode.name().toLowerCase(Locale.ROOT) + " startEpochMs=" + (System.currentTimeMillis() - ms) + " attempts=" + attempts);
                if (lazy != null) {
                    lazy.watch(child); // it removes the work directory once the daemon is done
                } else {
                    ImageStore.deleteTree(work);
                }
                closeAll(fds);
                fds.clear();
                int status = waitForRestored(child);
                if (lazy != null) {
                    lazy.finish();
                }
                RestoreRequest.remove(restoreRequest);
                return OptionalInt.of(status);
            } catch (CriuException e) {
                closeAll(fds);
                // A restore that failed after forking leaves the killed task as our zombie (restore-sibling
                // mode makes it our child), holding the very PID the next attempt needs: reap it.
                LibC.reapIfExited(pid);
                boolean retry = (pidInUse(e) || perfFileRemoved(e)) && System.nanoTime() < deadline;
                Optional<Path> lazyLog = lazy != null ? lazy.abandon(!retry) : Optional.empty();
                if (retry) {
                    sleep(100);
                    LibC.reapIfExited(pid);
                    continue;
                }
                String why = pidInUse(e) ? pidTakenMessage(pid) : e.getMessage() + (perfFileRemoved(e)
                        ? "\n  JVMs starting meanwhile removed CRIU's copy of the perf-data file from /tmp/hsperfdata_*;"
                        + " start the app with -XX:-UsePerfData to be rid of it" : "");
                Path log = keepLog(work, image);
                RestoreRequest.remove(restoreRequest);
                say("restore of image " + image.id() + " failed after " + attempts + " attempt(s): " + why
                        + (log != null ? "\n  CRIU's log: " + log : "")
                        + lazyLog.map(l -> "\n  The lazy-pages daemon's log: " + l).orElse("")
                        + "\n  Starting cold instead.");
                return OptionalInt.empty();
            } catch (RuntimeException e) {
                closeAll(fds);
                if (lazy != null) {
                    lazy.abandon(true);
                }
                RestoreRequest.remove(restoreRequest);
                say("restore of image " + image.id() + " failed: " + e + ". Starting cold instead.");
                return OptionalInt.empty();
            }
        }
    }

    /**
     * CRIU puts the unlinked perf-data file back as {@code /tmp/hsperfdata_USER/PID.cr.N.ghost} for
     * the restore, and every JVM of that user that starts meanwhile deletes such unknown files there:
     * a race with JVM starts, lost now and then on a busy machine; a new attempt usually wins it.
     */
    private static boolean perfFileRemoved(CriuException e) {
        return e.logTail().stream().anyMatch(l -> l.contains("/hsperfdata_") && l.contains(".ghost"));
    }

    private static boolean pidInUse(CriuException e) {
        return e.logTail().stream().anyMatch(l -> l.contains("File exists") && l.contains("PID"))
                || e.logTail().stream().anyMatch(l -> l.contains("Can't fork for"));
    }

    private String pidTakenMessage(int pid) {
        String holder;
        try {
            byte[] raw = Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline"));
            holder = "process " + pid + " (" + new String(raw, StandardCharsets.UTF_8).replace('\0', ' ').trim() + ")";
        } catch (IOException e) {
            holder = "a process that was exiting";
        }
        return "the image needs PID " + pid + " and " + holder + " still holds it after " + pidWait.toMillis()
                + " ms. A restored process keeps the PID it had at checkpoint: stop that process (it may be the"
                + " original app, still running after its checkpoint), or pass a longer --pid-wait";
    }

    private Path keepLog(Path work, ImageStore.Image image) {
        Path log = work.resolve("restore.log");
        if (!Files.isRegularFile(log)) {
            return null;
        }
        try {
            Path kept = store.resolve("last-failed-restore.log");
            Files.move(log, kept, StandardCopyOption.REPLACE_EXISTING);
            ImageStore.deleteTree(work);
            return kept;
        } catch (IOException e) {
            return log;
        }
    }

    /** The restored process gets our stdin/stdout/stderr wherever it had its old ones. */
    private static void inheritStdio(CriuRequest request, ImageMetadata meta, List<Integer> fds) {
        Map<String, Integer> byKey = new LinkedHashMap<>();
        for (int fd = 0; fd <= 2; fd++) {
            String key = meta.get("stdio." + fd);
            if (key != null && !byKey.containsKey(key)) {
                byKey.put(key, fd);
            }
        }
        byKey.forEach((key, fd) -> {
            // A copy, so that CRIU's own use of 0-2 and ours do not meet.
            int copy = LibC.dup(fd);
            fds.add(copy);
            request.inheritFd(copy, key);
        });
    }

    /**
     * The dumped process held a descriptor of the directory it was dumped into, which was renamed
     * when the image was finished: give it the image directory under that old name.
     */
    private static void inheritDumpDirectory(CriuRequest request, ImageMetadata meta, Path image, List<Integer> fds) {
        String old = meta.get("criu.dumpDirectory");
        if (old == null || !old.startsWith("/")) {
            return;
        }
        int fd = LibC.openDirectory(image.toString());
        int copy = LibC.dup(fd);
        LibC.close(fd);
        fds.add(copy);
        request.inheritFd(copy, old.substring(1));
    }

    private int waitForRestored(int child) {
        forwardSignals(child);
        int status = LibC.waitFor(child);
        return LibC.exitCode(status);
    }

    private int startCold(String key) {
        ProcessBuilder pb = new ProcessBuilder(command).inheritIO();
        pb.environment().put("CRYO_LAUNCHER", "1");
        pb.environment().put("CRYO_IMAGE_DIR", store.toString());
        pb.environment().put(BuildKey.ENV, key);
        // Check CRIU here, in a process that is never dumped, and tell the app: its own check
        // would have to start criu inside the process about to be dumped.
        try {
            CriuLocation location = CriuLocation.resolve(null, null);
            int version = LibCriu.versionOf(location.binary());
            pb.environment().put("CRYO_CRIU_CHECKED_VERSION", Integer.toString(version));
            pb.environment().put("CRYO_CRIU_CHECKED_BINARY", location.binary().toString());
        } catch (CriuUnavailableException e) {
            say("warning: " + e.getMessage() + " The app starts, but its checkpoint will fail.");
        }
        Process process;
        try {
            process = pb.start();
        } catch (IOException e) {
            err.println("cryo: cannot start " + command.get(0) + ": " + e.getMessage());
            return 127;
        }
        forwardSignals((int) process.pid());
        while (true) {
            try {
                return process.waitFor();
            } catch (InterruptedException e) {
                // Only a signal to the app ends the wait; the app's status is what we report.
            }
        }
    }

    private static void forwardSignals(int child) {
        for (String name : FORWARDED_SIGNALS) {
            int number = SIGNAL_NUMBERS.get(name);
            Signal.handle(new Signal(name), s -> LibC.kill(child, number));
        }
    }

    private int list() {
        ImageStore images = new ImageStore(store);
        String key = command.isEmpty() ? null : BuildKey.of(command, Path.of("").toAbsolutePath());
        List<ImageStore.Image> all = images.images();
        if (all.isEmpty()) {
            err.println("cryo: no images in " + store);
            return 0;
        }
        for (ImageStore.Image image : all) {
            ImageMetadata m = image.metadata();
            String state = image.defect().map(d -> "unusable: " + d)
                    .orElseGet(() -> key == null ? "ok" : key.equals(m.get("build.key")) ? "fits" : "other build");
            System.out.printf(Locale.ROOT, "%s  %s  %8.1f MB  pid %s  %s  %s%n", image.id(),
                    m == null ? "?" : m.get("created", "?"), m == null ? 0.0 : m.getLong("image.bytes", 0) / 1e6,
                    m == null ? "?" : m.get("pid", "?"), m == null ? "" : m.get("main", ""), state);
        }
        return 0;
    }

    private void say(String message) {
        if (!quiet) {
            err.println("cryo: " + message);
        }
    }

    private static void closeAll(List<Integer> fds) {
        fds.forEach(LibC::close);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
