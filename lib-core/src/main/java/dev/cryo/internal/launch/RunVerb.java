package dev.cryo.internal.launch;

import dev.cryo.internal.BuildKey;
import dev.cryo.internal.DeviceMemoryFiles;
import dev.cryo.internal.EnvironmentDigest;
import dev.cryo.internal.GpuMemoryFiles;
import dev.cryo.internal.ImageFit;
import dev.cryo.internal.ImageMetadata;
import dev.cryo.internal.ImageStore;
import dev.cryo.internal.JdkGenerators;
import dev.cryo.internal.LaunchHandoff;
import dev.cryo.internal.OpenFiles;
import dev.cryo.internal.PerfDataGhost;
import dev.cryo.internal.ProcessFacts;
import dev.cryo.internal.RemoteImages;
import dev.cryo.internal.StepTimings;
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

/**
 * {@code cryo run}: restores the app from its newest fitting image, or starts it cold.
 *
 * <p>A restored app becomes this launcher's child and writes to the launcher's stdin, stdout and
 * stderr, descriptor by descriptor (see StdioStep); the signals in SignalRelay are passed on to it,
 * held while a restore is in progress; the launcher exits with the app's status.
 * A missing, foreign, damaged or unrestorable image never stops the start: the reason is printed
 * and the app starts cold, with the image directory handed to it for its {@code checkpointNow()}
 * and {@code JDK_JAVA_OPTIONS} that open the JDK's random generators to Cryo (see JdkGenerators).
 */
final class RunVerb implements Verb {
    /** Bad images kept for inspection; older ones are deleted. */
    static final int KEEP_BAD = 2;
    /** Signals of which a restored app that dies marks its image bad: a crash, not a stop. */
    private static final Set<Integer> CRASH_SIGNALS = Set.of(4, 6, 7, 8, 11); // ILL ABRT BUS FPE SEGV
    /** Up to this many cores, the native bindings are prepared after the guess, on its thread (see prepareAhead). */
    private static final int CORES_FOR_OWN_BINDING_THREADS = 2;
    private final SignalRelay signals = new SignalRelay();

    private Console console;
    private Path store;
    private boolean cold;
    private String gpuMap;
    private Duration pidWait;
    private RestoreMode restoreMode; // null: RestoreMode.choose decides
    private Duration restoreTimeout; // null: RestoreTimeout.limit decides from the image
    private String dumpTimeout; // seconds, handed to the cold app (LaunchHandoff.DUMP_TIMEOUT_ENV)
    private boolean subreaper; // see subreaping()
    private List<String> command;
    private Path location; // --image as given: a directory, or s3://... (see FleetImages)
    private Optional<FleetImages> fleet; // opened when first needed: a fitting cached image needs no store
    private String claimKey;
    private final long startNanos = Launcher.START_NANOS;
    private final Map<String, Long> phases = new LinkedHashMap<>(); // restore-path phases, ms
    private long phaseStart = startNanos;
    private final java.util.concurrent.atomic.AtomicReference<ContentCheck> checkAhead =
            new java.util.concurrent.atomic.AtomicReference<>();

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
                + " [--restore-mode eager|lazy] [--restore-timeout SECONDS] [--quiet] [--cold]"
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
                LaunchArguments.Flag.DUMP_TIMEOUT, LaunchArguments.Flag.RESTORE_MODE, LaunchArguments.Flag.QUIET, LaunchArguments.Flag.COLD,
                LaunchArguments.Flag.RESTORE_TIMEOUT);
    }

    @Override
    public boolean needsCommand() {
        return true;
    }

    @Override
    public int run(LaunchArguments args, Console console) {
        this.console = console;
        this.store = FleetImages.localStore(args.image());
        this.pidWait = args.pidWait();
        this.gpuMap = args.gpuMap();
        this.command = args.command();
        this.cold = args.cold();
        this.dumpTimeout = args.dumpTimeout();
        this.restoreMode = args.restoreMode();
        this.restoreTimeout = args.restoreTimeout();
        signals.install();
        Optional<String> jdkProblem = JavaVersionCheck.problem(command);
        if (jdkProblem.isPresent()) {
            console.error(jdkProblem.get());
            return Launcher.USAGE;
        }
        Path cwd = Path.of("").toAbsolutePath();
        if (!cold) {
            prepareAhead(cwd);
        }
        BuildKey.Parts build = BuildKey.parts(command, cwd);
        String key = build.key();
        phase("buildKey");
        location = args.image();
        try {
            claimKey = FleetImages.claimKey(build);
            return runWith(build, key);
        } finally {
            if (fleet != null) {
                fleet.ifPresent(FleetImages::close);
            }
        }
    }

    /**
     * While this thread computes the build key and chooses the image, a thread of its own starts
     * what a restore of the likely image needs and does not depend on the choice: the check of
     * that image's contents against its manifest (the newest image, not marked bad, of this
     * command line and working directory: the one chosen unless the build changed), then binding
     * libc's and libcriu's functions and running the harmless ones once (their first calls cost a
     * fresh JVM tens of milliseconds per kind of call). It only reads: the choice, every check and
     * every message stay the restore's own ({@link #contentCheck}); a guess that was not chosen is
     * cancelled.
     *
     * <p>With more than {@link #CORES_FOR_OWN_BINDING_THREADS} cores, libc and libcriu are bound on
     * threads of their own from the start instead: after the store listing they came too late and
     * the main thread bound them itself. On fewer cores those threads only take the CPU from the
     * build key and the content check (measured on 2 cores: no faster), so there they stay last.
     */
    private void prepareAhead(Path cwd) {
        boolean ownThreads = Runtime.getRuntime().availableProcessors() > CORES_FOR_OWN_BINDING_THREADS;
        if (ownThreads) {
            Thread.ofPlatform().daemon().name("cryo-prepare-libcriu").start(RunVerb::prepareLibCriu);
            Thread.ofPlatform().daemon().name("cryo-prepare-libc").start(LibC::prepareRestoreCalls);
        }
        Thread.ofPlatform().daemon().name("cryo-prepare-restore").start(() -> {
            try {
                ImageStore images = new ImageStore(store);
                if (images.untrusted().isEmpty()) {
                    String here = cwd.normalize().toString();
                    images.images().stream()
                            .filter(i -> i.metadata() != null && i.badReason().isEmpty()
                                    && i.metadata().process().command().equals(command)
                                    && i.metadata().process().cwd().equals(here))
                            .findFirst()
                            .ifPresent(likely -> {
                                ContentCheck check = new ContentCheck(likely.dir(), likely.contentMismatch());
                                if (!checkAhead.compareAndSet(null, check)) { // the restore did not wait for it
                                    check.result().cancel(false);
                                }
                            });
                }
            } catch (RuntimeException e) {
                // the restore lists the store itself and says what is wrong
            }
            if (!ownThreads) {
                LibC.prepareRestoreCalls();
                prepareLibCriu();
            }
        });
    }

    private static void prepareLibCriu() {
        try {
            LibCriu.load(CriuLocation.resolve(null, null)).prepareRestoreCalls();
        } catch (RuntimeException e) {
            // the restore loads it again and says why it cannot
        }
    }

    /** The content check of {@code image}: the one {@link #prepareAhead} started when it guessed this image, else a new one. */
    private java.util.concurrent.CompletableFuture<Optional<String>> contentCheck(ImageStore.Image image) {
        Optional<ContentCheck> ahead = takeCheckAhead();
        if (ahead.isPresent() && ahead.get().dir().equals(image.dir())) {
            return ahead.get().result();
        }
        ahead.ifPresent(wrong -> wrong.result().cancel(false));
        return image.contentMismatch();
    }

    /** No restore: a content check started ahead stops. */
    private void cancelCheckAhead() {
        takeCheckAhead().ifPresent(ahead -> ahead.result().cancel(false));
    }

    /** The check {@link #prepareAhead} started, if any; from now on one started later is cancelled at once. */
    private Optional<ContentCheck> takeCheckAhead() {
        ContentCheck ahead = checkAhead.getAndSet(ContentCheck.TAKEN);
        return ahead == null || ahead == ContentCheck.TAKEN ? Optional.empty() : Optional.of(ahead);
    }

    /** A check of the contents of the image in {@code dir}, running. */
    private record ContentCheck(Path dir, java.util.concurrent.CompletableFuture<Optional<String>> result) {
        /** Set once the restore has asked: a check started later is not wanted. */
        static final ContentCheck TAKEN = new ContentCheck(Path.of(""), null);
    }

    /** The remote store, opened now if not yet; empty when the store is a local directory or cannot be reached. */
    private Optional<FleetImages> fleet() {
        if (fleet == null) {
            fleet = FleetImages.open(location, console);
        }
        return fleet;
    }

    private int runWith(BuildKey.Parts build, String key) {
        ImageStore images = new ImageStore(store);
        Optional<String> untrusted = images.untrusted();
        if (untrusted.isPresent()) {
            console.say("refusing " + untrusted.get() + ". Starting cold; the app's checkpointNow() writes no image"
                    + " there either.");
            return startCold(key);
        }
        // Listed once: reading every image's metadata is on the restore's path.
        List<ImageStore.Image> listed;
        try {
            listed = images.images();
        } catch (java.io.UncheckedIOException e) { // an unreadable store: the app still starts
            console.say("warning: " + e.getMessage() + " (" + e.getCause() + "): starting cold");
            return startCold(key);
        }
        int stale = images.removeStale();
        if (stale > 0) {
            console.say("removed " + stale + " unfinished image(s) left by checkpoints that did not complete");
        }
        List<String> pruned = images.pruneBad(listed, KEEP_BAD);
        if (!pruned.isEmpty()) {
            console.say("removed bad image(s) " + String.join(", ", pruned) + " (the newest " + KEEP_BAD
                    + " bad ones are kept for inspection)");
        }
        if (!cold) {
            ImageFit fit = ImageFit.here(build, LaunchHandoff.parseGpuMap(gpuMap), command);
            List<ImageStore.Image> candidates = listed.stream().filter(i -> !pruned.contains(i.id())).toList();
            if (!store.equals(location) && fit.newestFitting(candidates).isEmpty()
                    && fleet().map(f -> f.fetchFitting(fit)).orElse(false)) { // nothing fitting cached: the store
                try {
                    candidates = images.images(); // with the image just fetched into the cache
                } catch (java.io.UncheckedIOException e) {
                    console.say("warning: " + e.getMessage() + " (" + e.getCause() + "): starting cold");
                    return startCold(key);
                }
            }
            Optional<ImageStore.Image> chosen = choose(candidates, fit);
            phase("chooseImage");
            if (chosen.isPresent()) {
                OptionalInt restored = restore(chosen.get());
                if (restored.isPresent()) {
                    return restored.getAsInt();
                }
            }
        }
        return startCold(key);
    }

    /** The newest of {@code all} that fits; prints why others do not. */
    private Optional<ImageStore.Image> choose(List<ImageStore.Image> all, ImageFit fit) {
        if (all.isEmpty()) {
            console.say("no image in " + store + " yet: starting cold; the app's checkpointNow() will write one");
            return Optional.empty();
        }
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
        // Every file against the image's manifest, in parallel, while the launcher prepares the restore.
        java.util.concurrent.CompletableFuture<Optional<String>> contents = contentCheck(image);
        // The device memory files first: a missing or short one means a cold start, and reading
        // them and the driver's GPU memory files ahead now overlaps the disk with CRIU's restore.
        Optional<String> deviceMemory = DeviceMemoryFiles.problem(meta.deviceMemory(), image.dir());
        if (deviceMemory.isPresent()) {
            return refused(image, deviceMemory.get());
        }
        List<Path> gpuFiles = new ArrayList<>(DeviceMemoryFiles.files(meta.deviceMemory(), image.dir()));
        gpuFiles.addAll(GpuMemoryFiles.files(meta.gpuMemory(), image.dir()));
        DeviceMemoryFiles.readAhead(gpuFiles);
        phase("deviceMemoryCheck");
        LibCriu criu;
        try {
            criu = LibCriu.load(CriuLocation.resolve(null, null));
        } catch (CriuUnavailableException e) {
            console.say("cannot restore image " + image.id() + ": " + e.getMessage() + " Starting cold.");
            return OptionalInt.empty();
        }
        phase("loadLibcriu");
        // Before anything is taken from the image, stored files included.
        Optional<String> changed = contents.join();
        phase("integrity");
        if (changed.isPresent()) {
            return refused(image, changed.get());
        }
        StoredFiles.PutBack putBack;
        try {
            putBack = StoredFiles.putBack(meta.storedFiles(), image.dir());
            for (String path : putBack.paths()) {
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
            LaunchHandoff.removeRestoreRequest(restoreRequest);
            revert(putBack);
            return OptionalInt.empty();
        }
        // Children before the first attempt: a failed attempt's restored root may die (and become
        // our zombie) only during the next one.
        Set<Integer> childrenBefore = ProcessFacts.childPids();
        subreaping(true, childrenBefore);
        RestoreTimeout timeout = RestoreTimeout.start(RestoreTimeout.limit(restoreTimeout, meta), childrenBefore);
        OptionalInt status = OptionalInt.empty();
        try {
            status = restoreAttempts(image, criu, meta, work, restoreRequest, pid, deadline, childrenBefore, timeout,
                    putBack);
            return status;
        } finally {
            timeout.stop();
            subreaping(false, childrenBefore);
            if (status.isEmpty()) {
                revert(putBack);
            }
        }
    }

    /** A restore that failed leaves the stored files as they were before it. */
    private void revert(StoredFiles.PutBack putBack) {
        List<String> paths = putBack.paths();
        List<String> problems = putBack.revert();
        if (!paths.isEmpty()) {
            console.say("the restore failed: " + paths + " have their contents from before it again"
                    + (problems.isEmpty() ? "" : "; except: " + problems));
        }
    }

    /** Refuses a damaged image: marked bad with {@code why}, so that the cold app's checkpoint replaces it. */
    private OptionalInt refused(ImageStore.Image image, String why) {
        ImageStore.markBad(image.dir(), why);
        console.say("image " + image.id() + " refused: " + why + ". It is marked bad and will be replaced."
                + " Starting cold.");
        return OptionalInt.empty();
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
            Path restoreRequest, int pid, long deadline, Set<Integer> childrenBefore, RestoreTimeout timeout,
            StoredFiles.PutBack putBack) {
        int logLevel = Integer.getInteger("cryo.criu.logLevel", 2);
        RestoreMode.Choice choice = RestoreMode.choose(restoreMode, meta, criu.location(), console::say);
        RestoreMode mode = choice.mode();
        phase("restoreMode");
        LazyRestore lazy = null;
        int attempts = 0;
        while (true) {
            attempts++;
            List<Integer> fds = new ArrayList<>();
            if (mode == RestoreMode.LAZY) {
                try { // started first: its start overlaps with preparing the request
                    lazy = LazyRestore.start(criu.location(), image, work, store, startNanos, logLevel, console::say,
                            timeout.limit());
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
                for (Path ghost : PerfDataGhost.removeLeftovers(PerfDataGhost.directory(), pid)) {
                    console.say("removed " + ghost + ", left by a restore that was killed");
                }
                int child;
                try (ProgressLine progress = console.progress("restoring image " + image.id(),
                        ProgressLine.restoreOf(pid, meta.process().residentBytes()))) {
                    child = request.restoreChild();
                }
                timeout.stop();
                if (timeout.fired()) { // it returned just as the limit passed: the tree is being killed
                    closeAll(fds);
                    return timedOut(image, timeout, work, restoreRequest, lazy, childrenBefore);
                }
                signals.relayTo(child); // a TERM that came during the restore ends the app now
                phase("criuRestore");
                putBack.keep();
                Set<Integer> keep = new java.util.HashSet<>(childrenBefore);
                keep.add(child);
                subreaping(false, keep);
                long ms = (System.nanoTime() - startNanos) / 1_000_000;
                console.say("restored image " + image.id() + " in " + ms + " ms (pid " + child + ")");
                // Where the time went, in a fixed form for benchmarks; the JVM's start precedes startNanos.
                console.say("restore timing (ms): wrapper=" + Launcher.WRAPPER_MILLIS + " jvmStart="
                        + Launcher.JVM_UPTIME_AT_MAIN + " " + phases + " " + choice.timing(mode)
                        + " startEpochMs=" + (System.currentTimeMillis() - ms) + " attempts=" + attempts);
                appendTimings(image, child, ms, mode, choice);
                if (lazy != null) {
                    lazy.watch(child); // it removes the work directory once the daemon is done
                } else {
                    ImageStore.deleteTree(work);
                }
                closeAll(fds);
                fds.clear();
                int status = waitForRestored(child);
                if (CRASH_SIGNALS.contains(status - 128)) {
                    ImageStore.markBad(image.dir(), "the app restored from it died of signal " + (status - 128)
                            + " (a crash)");
                    console.say("the app restored from image " + image.id() + " crashed (signal " + (status - 128)
                            + "): the image is marked bad, and the next cold start's checkpoint replaces it");
                }
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
                if (timeout.fired()) {
                    return timedOut(image, timeout, work, restoreRequest, lazy, childrenBefore);
                }
                boolean retry = pidInUse(e) && System.nanoTime() < deadline;
                Optional<Path> lazyLog = lazy != null ? lazy.abandon(!retry) : Optional.empty();
                if (retry) {
                    sleep(100);
                    continue;
                }
                String why = pidInUse(e) ? pidTakenMessage(takenPid(e).orElse(pid), pid) : e.getMessage();
                if (!pidInUse(e) || ProcessFacts.holderOf(takenPid(e).orElse(pid)).isPresent()) {
                    ImageStore.markBad(image.dir(), "its restore failed: " + why);
                }
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
                ProcessFacts.reapZombieChildren(childrenBefore);
                if (timeout.fired()) {
                    return timedOut(image, timeout, work, restoreRequest, null, childrenBefore);
                }
                ImageStore.markBad(image.dir(), "its restore failed: " + e);
                LaunchHandoff.removeRestoreRequest(restoreRequest);
                console.say("restore of image " + image.id() + " failed: " + e + ". Starting cold instead.");
                return OptionalInt.empty();
            }
        }
    }

    /** The launcher's side of this restore, for tools ({@link StepTimings}). */
    private void appendTimings(ImageStore.Image image, int child, long ms, RestoreMode mode, RestoreMode.Choice choice) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("pid", child);
        t.put("totalMillis", ms);
        t.put("wrapper", Launcher.WRAPPER_MILLIS);
        t.put("jvmStart", Launcher.JVM_UPTIME_AT_MAIN);
        t.put("mode", mode.name().toLowerCase(Locale.ROOT));
        t.put("modeBasis", choice.basisOf(mode));
        t.put("faultMillis", choice.faultMillis());
        t.put("phases", phases);
        StepTimings.appendRestore(image.dir(), "launcher", t);
    }

    /** The restore ran past its limit and was killed: the image is marked bad, nothing of the attempt is left. */
    private OptionalInt timedOut(ImageStore.Image image, RestoreTimeout timeout, Path work, Path restoreRequest,
            LazyRestore lazy, Set<Integer> childrenBefore) {
        timeout.killNewChildren();
        if (lazy != null) {
            lazy.abandon(true);
        }
        ProcessFacts.reapZombieChildren(childrenBefore);
        String why = "its restore did not finish within " + timeout.limit().toMillis() / 1000.0 + " s and was killed"
                + " (--restore-timeout, -D" + RestoreTimeout.PROPERTY + "; the default is 10 times the image's dump time,"
                + " at least " + RestoreTimeout.FLOOR.toSeconds() + " s)";
        ImageStore.markBad(image.dir(), why);
        Path log = keepLog(work, image);
        ImageStore.deleteTree(work);
        LaunchHandoff.removeRestoreRequest(restoreRequest);
        console.say("restore of image " + image.id() + " failed: " + why + ". It is marked bad and will be replaced."
                + (log != null ? "\n  CRIU's log: " + log : "") + "\n  Starting cold instead.");
        return OptionalInt.empty();
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
        int status = LibC.waitFor(child);
        return LibC.exitCode(status);
    }

    private int startCold(String key) {
        cancelCheckAhead();
        int ending = signals.heldEnding();
        if (ending > 0) { // asked to stop before the app ran: nothing to start
            console.say("stopped by signal " + ending + " before the app started");
            return 128 + ending;
        }
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
        new LaunchHandoff(store, key, LaunchHandoff.parseGpuMap(gpuMap), criu,
                EnvironmentDigest.current().digests()).into(pb.environment());
        if (!store.equals(location) && fleet().isPresent()) { // one node publishes; the others' checkpoints are skipped
            Optional<String> skip = fleet.get().claim(claimKey);
            skip.ifPresentOrElse(why -> pb.environment().put(RemoteImages.SKIP_ENV, why),
                    () -> fleet.get().publishWhenCommitted(claimKey));
        }
        Process process;
        try {
            process = pb.start();
        } catch (IOException e) {
            console.error("cannot start " + command.get(0) + ": " + e.getMessage());
            return 127;
        }
        signals.relayTo((int) process.pid());
        try (ProgressLine progress = console.progress("checkpointing",
                ProgressLine.checkpointOf(store, ProgressLine.DELAY_MILLIS))) {
            while (true) {
                try {
                    int status = process.waitFor();
                    if (fleet != null) {
                        fleet.ifPresent(FleetImages::awaitPublished);
                    }
                    return status;
                } catch (InterruptedException e) {
                    // Only a signal to the app ends the wait; the app's status is what we report.
                }
            }
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
