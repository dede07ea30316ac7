package dev.cryo.internal.launch;

import dev.cryo.internal.BuildKey;
import dev.cryo.internal.DeviceMemoryFiles;
import dev.cryo.internal.ImageFit;
import dev.cryo.internal.ImageMetadata;
import dev.cryo.internal.ImageStore;
import dev.cryo.internal.JdkGenerators;
import dev.cryo.internal.LaunchHandoff;
import dev.cryo.internal.OpenFiles;
import dev.cryo.internal.ProcessFacts;
import dev.cryo.internal.StoredFiles;
import dev.cryo.internal.criu.CriuException;
import dev.cryo.internal.criu.CriuLocation;
import dev.cryo.internal.criu.CriuRequest;
import dev.cryo.internal.criu.CriuUnavailableException;
import dev.cryo.internal.criu.CriuVersion;
import dev.cryo.internal.criu.LibCriu;
import dev.cryo.internal.os.LibC;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import sun.misc.Signal;

/**
 * {@code cryo run}: restores the app from its newest fitting image, or starts it cold.
 *
 * <p>A restored app becomes this launcher's child and writes to the launcher's stdin, stdout and
 * stderr; signals TERM, INT and HUP are passed on to it; the launcher exits with the app's status.
 * A missing, foreign, damaged or unrestorable image never stops the start: the reason is printed
 * and the app starts cold, with the image directory handed to it for its {@code checkpointNow()}
 * and {@code JDK_JAVA_OPTIONS} that open the JDK's random generators to Cryo (see JdkGenerators).
 */
final class RunVerb implements Verb {
    private static final String[] FORWARDED_SIGNALS = {"TERM", "INT", "HUP"};
    private static final Map<String, Integer> SIGNAL_NUMBERS = Map.of("TERM", 15, "INT", 2, "HUP", 1);

    private Console console;
    private Path store;
    private boolean cold;
    private String gpuMap;
    private Duration pidWait;
    private RestoreMode restoreMode; // null: RestoreMode.choose decides
    private String dumpTimeout; // seconds, handed to the cold app (LaunchHandoff.DUMP_TIMEOUT_ENV)
    private boolean subreaper; // see subreaping()
    private List<String> command;
    private final long startNanos = Launcher.START_NANOS;
    private final Map<String, Long> phases = new LinkedHashMap<>(); // restore-path phases, ms
    private long phaseStart = startNanos;

    private void phase(String name) {
        long now = System.nanoTime();
        phases.merge(name, (now - phaseStart) / 1_000_000, Long::sum);
        phaseStart = now;
    }

    @Override
    public String name() {
        return "run";
    }

    @Override
    public String synopsis() {
        return "run --image DIR [--pid-wait SECONDS] [--gpu-map OLD=NEW,...] [--dump-timeout SECONDS]"
                + " [--restore-mode eager|lazy] [--quiet] [--cold]"
                + " -- COMMAND...";
    }

    @Override
    public String description() {
        return "restores COMMAND from its newest fitting image in DIR, or starts it cold;\n"
                + "a cold app's Checkpointer.checkpointNow() writes its image into DIR.";
    }

    @Override
    public Set<LaunchArguments.Flag> flags() {
        return EnumSet.of(LaunchArguments.Flag.IMAGE, LaunchArguments.Flag.PID_WAIT, LaunchArguments.Flag.GPU_MAP,
                LaunchArguments.Flag.DUMP_TIMEOUT, LaunchArguments.Flag.RESTORE_MODE, LaunchArguments.Flag.QUIET, LaunchArguments.Flag.COLD);
    }

    @Override
    public boolean needsCommand() {
        return true;
    }

    @Override
    public int run(LaunchArguments args, Console console) {
        this.console = console;
        this.store = args.image();
        this.pidWait = args.pidWait();
        this.gpuMap = args.gpuMap();
        this.command = args.command();
        this.cold = args.cold();
        this.dumpTimeout = args.dumpTimeout();
        this.restoreMode = args.restoreMode();
        Optional<String> jdkProblem = JavaVersionCheck.problem(command);
        if (jdkProblem.isPresent()) {
            console.error(jdkProblem.get());
            return Launcher.USAGE;
        }
        Path cwd = Path.of("").toAbsolutePath();
        BuildKey.Parts build = BuildKey.parts(command, cwd);
        String key = build.key();
        phase("buildKey");
        ImageStore images = new ImageStore(store);
        int stale = images.removeStale();
        if (stale > 0) {
            console.say("removed " + stale + " unfinished image(s) left by checkpoints that did not complete");
        }
        if (!cold) {
            Optional<ImageStore.Image> fit = choose(images, build);
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
    private Optional<ImageStore.Image> choose(ImageStore images, BuildKey.Parts build) {
        List<ImageStore.Image> all = images.images();
        if (all.isEmpty()) {
            console.say("no image in " + store + " yet: starting cold; the app's checkpointNow() will write one");
            return Optional.empty();
        }
        ImageFit fit = ImageFit.here(build, LaunchHandoff.parseGpuMap(gpuMap));
        for (ImageStore.Image image : all) {
            Optional<String> misfit = fit.misfit(image);
            if (misfit.isPresent()) {
                console.say("image " + image.id() + " " + misfit.get());
                continue;
            }
            return Optional.of(image);
        }
        console.say("no fitting image in " + store + ": starting cold");
        return Optional.empty();
    }

    /** Restores {@code image}; returns the app's exit status, or empty when the restore failed. */
    private OptionalInt restore(ImageStore.Image image) {
        ImageMetadata meta = image.metadata();
        int pid = (int) meta.process().pid();
        // The device memory files first: a missing or short one means a cold start, and reading
        // them ahead now overlaps the disk with CRIU's restore.
        Optional<String> deviceMemory = DeviceMemoryFiles.problem(meta.deviceMemory(), image.dir());
        if (deviceMemory.isPresent()) {
            console.say("cannot restore image " + image.id() + ": " + deviceMemory.get() + ". Starting cold.");
            return OptionalInt.empty();
        }
        DeviceMemoryFiles.readAhead(meta.deviceMemory(), image.dir());
        phase("deviceMemoryCheck");
        LibCriu criu;
        try {
            criu = LibCriu.load(CriuLocation.resolve(null, null));
        } catch (CriuUnavailableException e) {
            console.say("cannot restore image " + image.id() + ": " + e.getMessage() + " Starting cold.");
            return OptionalInt.empty();
        }
        phase("loadLibcriu");
        try {
            for (String path : StoredFiles.putBack(meta.storedFiles(), image.dir())) {
                console.say("put back " + path + " as it was at checkpoint (kept in the image)");
            }
        } catch (IOException | RuntimeException e) {
            console.say("cannot put back the files kept in image " + image.id() + ": " + e + ". Starting cold.");
            return OptionalInt.empty();
        }
        for (String path : OpenFiles.changedSameSize(meta.openFiles(), StoredFiles.paths(meta.storedFiles()))) {
            console.say("warning: " + path + " changed since the checkpoint (same size); the restored app reads the new"
                    + " contents. Keep it in the image (CheckpointOptions.storeFiles) if it must not change.");
        }
        Path restoreRequest = LaunchHandoff.writeRestoreRequest(store, pid, LaunchHandoff.parseGpuMap(gpuMap));
        long deadline = System.nanoTime() + pidWait.toNanos();
        Path work;
        try {
            work = Files.createTempDirectory("cryo-restore-");
        } catch (IOException e) {
            console.say("cannot create a working directory for CRIU: " + e + ". Starting cold.");
            return OptionalInt.empty();
        }
        // Children before the first attempt: a failed attempt's restored root may die (and become
        // our zombie) only during the next one.
        Set<Integer> childrenBefore = ProcessFacts.childPids();
        subreaping(true, childrenBefore);
        try {
            return restoreAttempts(image, criu, meta, work, restoreRequest, pid, deadline, childrenBefore);
        } finally {
            subreaping(false, childrenBefore);
        }
    }

    /**
     * While restores are tried, the launcher is a child subreaper: when one fails, CRIU kills the
     * restored tree, and its orphans (the zombies the image holds, such as libcriu's own child)
     * come to the launcher to be reaped here, not to an init that may be slow to reap them while
     * they hold PIDs the next attempt needs. Ended, and what came reaped, as soon as a restore
     * succeeds or the launcher gives up (the app's own orphans later go to init as without Cryo).
     */
    private void subreaping(boolean on, Set<Integer> keep) {
        if (on == subreaper) {
            return;
        }
        try {
            LibC.setChildSubreaper(on);
            subreaper = on;
        } catch (RuntimeException e) {
            return; // without it, orphans go to init, as before
        }
        if (!on) {
            ProcessFacts.reapZombieChildren(keep);
        }
    }

    private OptionalInt restoreAttempts(ImageStore.Image image, LibCriu criu, ImageMetadata meta, Path work,
            Path restoreRequest, int pid, long deadline, Set<Integer> childrenBefore) {
        int logLevel = Integer.getInteger("cryo.criu.logLevel", 2);
        RestoreMode mode = RestoreMode.choose(restoreMode, meta, criu.location(), console::say);
        phase("restoreMode");
        LazyRestore lazy = null;
        int attempts = 0;
        while (true) {
            attempts++;
            List<Integer> fds = new ArrayList<>();
            if (mode == RestoreMode.LAZY) {
                try { // started first: its start overlaps with preparing the request
                    lazy = LazyRestore.start(criu.location(), image, work, store, startNanos, logLevel, console::say);
                } catch (CriuUnavailableException e) {
                    console.say("restoring eagerly: " + e.getMessage());
                    mode = RestoreMode.EAGER;
                }
            }
            try (CriuRequest request = criu.newRequest()) {
                request.imagesDirectory(image.dir()).workDirectory(work).log("restore.log", logLevel)
                        .shellJob(true)
                        .tcpEstablished(meta.criu().tcpEstablished())
                        .externalUnixSockets(meta.criu().externalUnixSockets())
                        .fileLocks(meta.criu().fileLocks());
                inheritStdio(request, meta, fds);
                inheritDumpDirectory(request, meta, image.dir(), fds);
                if (lazy != null) {
                    phase("prepareRequest");
                    Optional<String> notReady = lazy.awaitReady();
                    phase("lazyPagesReady");
                    if (notReady.isPresent()) {
                        console.say("restoring eagerly: " + notReady.get());
                        mode = RestoreMode.EAGER;
                        lazy = null;
                    } else {
                        request.lazyPages();
                    }
                }
                phase("prepareRequest");
                int child = request.restoreChild();
                phase("criuRestore");
                Set<Integer> keep = new java.util.HashSet<>(childrenBefore);
                keep.add(child);
                subreaping(false, keep);
                long ms = (System.nanoTime() - startNanos) / 1_000_000;
                console.say("restored image " + image.id() + " in " + ms + " ms (pid " + child + ")");
                // Where the time went, in a fixed form for benchmarks; the JVM's start precedes startNanos.
                console.say("restore timing (ms): jvmStart=" + Launcher.JVM_UPTIME_AT_MAIN + " " + phases + " mode="
                        + mode.name().toLowerCase(Locale.ROOT) + " startEpochMs=" + (System.currentTimeMillis() - ms));
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
                LaunchHandoff.removeRestoreRequest(restoreRequest);
                return OptionalInt.of(status);
            } catch (CriuException e) {
                closeAll(fds);
                // A restore that failed leaves the restored root, our child, as a zombie holding
                // the PID the next attempt (and the cold start's own checkpoint) needs.
                ProcessFacts.reapZombieChildren(childrenBefore);
                boolean retry = pidInUse(e) && System.nanoTime() < deadline;
                Optional<Path> lazyLog = lazy != null ? lazy.abandon(!retry) : Optional.empty();
                if (retry) {
                    sleep(100);
                    continue;
                }
                String why = pidInUse(e) ? pidTakenMessage(takenPid(e).orElse(pid), pid) : e.getMessage();
                Path log = keepLog(work, image);
                LaunchHandoff.removeRestoreRequest(restoreRequest);
                console.say("restore of image " + image.id() + " failed after " + attempts + " attempt(s): " + why
                        + (log != null ? "\n  CRIU's log: " + log : "")
                        + lazyLog.map(l -> "\n  The lazy-pages daemon's log: " + l).orElse("")
                        + "\n  Starting cold instead.");
                return OptionalInt.empty();
            } catch (RuntimeException e) {
                closeAll(fds);
                if (lazy != null) {
                    lazy.abandon(true);
                }
                LaunchHandoff.removeRestoreRequest(restoreRequest);
                console.say("restore of image " + image.id() + " failed: " + e + ". Starting cold instead.");
                return OptionalInt.empty();
            }
        }
    }

    private static boolean pidInUse(CriuException e) {
        return e.logTail().stream().anyMatch(l -> l.contains("File exists") && l.contains("PID"))
                || e.logTail().stream().anyMatch(l -> l.contains("Can't fork for"));
    }

    /** The PID CRIU could not have again ("Can't fork for PID: File exists"): the app's, or one of its children's. */
    private static OptionalInt takenPid(CriuException e) {
        for (String line : e.logTail()) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("Can't fork for (\\d+)").matcher(line);
            if (m.find()) {
                return OptionalInt.of(Integer.parseInt(m.group(1)));
            }
        }
        return OptionalInt.empty();
    }

    private String pidTakenMessage(int taken, int appPid) {
        String whose = taken == appPid ? "PID " + taken : "PID " + taken + " (a child or thread of the app, PID " + appPid
                + ", at checkpoint)";
        Optional<String> holder = ProcessFacts.holderOf(taken);
        if (holder.isEmpty()) {
            return "the image needs " + whose + ", which was taken until just now (no process holds it any more)."
                    + " A restored process gets back the PIDs it had at checkpoint: start again, or pass a longer"
                    + " --pid-wait than " + pidWait.toMillis() + " ms";
        }
        return "the image needs " + whose + " and " + holder.get() + " still holds it after " + pidWait.toMillis()
                + " ms. A restored process gets back the PIDs it had at checkpoint: stop that process (it may be the"
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
        meta.process().stdio().forEach((fd, key) -> byKey.putIfAbsent(key, fd));
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
        String old = meta.criu().dumpDirectory();
        if (!old.startsWith("/")) {
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
        // Opens the JDK's generators to Cryo, so that restored copies reseed them (JdkGenerators).
        // Through the environment, the java launcher's own way: it works for -jar, -cp and -m starts,
        // and for a script that runs java; the launcher prints one NOTE line saying so.
        pb.environment().merge("JDK_JAVA_OPTIONS", JdkGenerators.javaOptions(command),
                (set, opens) -> set + " " + opens);
        if (dumpTimeout != null) {
            pb.environment().put(LaunchHandoff.DUMP_TIMEOUT_ENV, dumpTimeout);
        }
        // Check CRIU here, in a process that is never dumped, and tell the app: its own check
        // would have to start criu inside the process about to be dumped.
        Optional<LaunchHandoff.CheckedCriu> criu = Optional.empty();
        try {
            CriuLocation location = CriuLocation.resolve(null, null);
            criu = Optional.of(new LaunchHandoff.CheckedCriu(CriuVersion.of(location.binary()), location.binary()));
        } catch (CriuUnavailableException e) {
            console.say("warning: " + e.getMessage() + " The app starts, but its checkpoint will fail.");
        }
        new LaunchHandoff(store, key, LaunchHandoff.parseGpuMap(gpuMap), criu).into(pb.environment());
        Process process;
        try {
            process = pb.start();
        } catch (IOException e) {
            console.error("cannot start " + command.get(0) + ": " + e.getMessage());
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
