package dev.cryo.internal.checkpoint;

import dev.cryo.CheckpointException;
import dev.cryo.CheckpointException.Reason;
import dev.cryo.CheckpointOptions;
import dev.cryo.CheckpointOutcome;
import dev.cryo.Checkpointer;
import dev.cryo.RestoreException;
import dev.cryo.internal.BuildKey;
import dev.cryo.internal.DeviceMemoryRegistry;
import dev.cryo.internal.GpuMemoryFiles;
import dev.cryo.internal.ImageFit;
import dev.cryo.internal.ImageMetadata;
import dev.cryo.internal.ImageStore;
import dev.cryo.internal.LaunchHandoff;
import dev.cryo.internal.MappedLibraries;
import dev.cryo.internal.ProcessFacts;
import dev.cryo.internal.RemoteImages;
import dev.cryo.internal.StepTimings;
import dev.cryo.internal.StoredFiles;
import dev.cryo.internal.criu.CriuRequest.DumpResult;
import dev.cryo.internal.criu.LibCriu;
import dev.cryo.internal.cuda.GpuCheckpoint;
import dev.cryo.internal.os.LibC;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import dev.cryo.internal.Logs;

/**
 * One call of {@code Checkpointer.checkpointNow(options)}: the checks that touch nothing, then the
 * steps in order (claim, resources, GC, image directory, device memory, GPU suspend, description,
 * stored files, GPU memory files, dump, commit), each undone, last first, when a later one fails;
 * after the dump, each step's way back in whichever process goes on. A new step is a {@link Step} class
 * and one line in {@code steps(...)} below, at its place in that order; its {@link Done} hooks run
 * in the reverse order, so a step placed before the GPU suspend (device memory that Cryo moves
 * itself, say) has its undo, afterDump and afterRestore run after the GPU state is back. Values
 * pass between steps only as what one step returns and a later one takes in its constructor.
 */
public final class CheckpointSequence {
    private static final Logger LOG = Logs.get(Checkpointer.class);
    private static final ReentrantLock IN_PROGRESS = new ReentrantLock();
    /** The image keeps this much more free space than the resident memory it will hold. */
    private static final double SPACE_MARGIN = 1.10;

    private final CheckpointOptions options;
    private final ApiAccess api;
    private final long started = System.nanoTime();

    private CheckpointSequence(CheckpointOptions options, ApiAccess api) {
        this.options = options;
        this.api = api;
    }

    /** Checkpoints this process; see {@code Checkpointer.checkpointNow(CheckpointOptions)}. */
    public static CheckpointOutcome run(CheckpointOptions options, ApiAccess api)
            throws CheckpointException, RestoreException {
        if (!IN_PROGRESS.tryLock()) {
            throw api.checkpointFailure(Reason.IN_PROGRESS, "Another thread of this process is taking a"
                    + " checkpoint right now; call checkpointNow() once, from one thread.", null);
        }
        try {
            return new CheckpointSequence(options, api).checked();
        } finally {
            IN_PROGRESS.unlock();
        }
    }

    private CheckpointOutcome checked() throws CheckpointException, RestoreException {
        Optional<LaunchHandoff> handoff = LaunchHandoff.current();
        Optional<Path> location = ImageLocation.resolve(options, handoff);
        if (location.isEmpty()) {
            LOG.warn("Checkpoint skipped: {}", ImageLocation.NOT_CONFIGURED);
            return api.outcome(CheckpointOutcome.Kind.SKIPPED, null, null, ImageLocation.NOT_CONFIGURED, Duration.ZERO);
        }
        String skip = System.getenv(RemoteImages.SKIP_ENV);
        if (handoff.isPresent() && skip != null && !skip.isBlank()) {
            return skipped(skip); // another node publishes this build's image (the launcher's claim)
        }
        // A remote store (s3://...) is written through its local working copy; the launcher publishes it.
        String named = location.get().toString();
        ImageStore store = new ImageStore(RemoteImages.isRemote(named)
                ? RemoteImages.cacheDirectory(RemoteImages.uri(named)) : location.get());
        // The parts as this process sees them (the class path walk is cached: only file attributes
        // are read), under the key the launcher computed where it started this process.
        BuildKey.Parts own = BuildKey.parts(ProcessFacts.commandLine(), Path.of("").toAbsolutePath());
        BuildKey.Parts build = handoff.map(h -> new BuildKey.Parts(h.buildKey(), own.parts())).orElse(own);
        // The launcher's own rule: an image it would restore makes a new one needless, one it
        // refuses is replaced by this checkpoint.
        ImageFit fit = ImageFit.here(build, handoff.map(LaunchHandoff::gpuMap).orElse(Map.of()),
                ProcessFacts.commandLine());
        Optional<String> untrusted = store.untrusted();
        if (untrusted.isPresent()) {
            throw api.checkpointFailure(Reason.IMAGE_DIRECTORY, "Refusing to write the snapshot: " + untrusted.get()
                    + ". A snapshot holds every secret of the process and is restored as the user who runs it, so its"
                    + " directory must be that user's alone.", null);
        }
        List<ImageStore.Image> images;
        try {
            images = store.images();
        } catch (java.io.UncheckedIOException e) {
            throw new Failures(api, store.root()).imageDirectory(e.getCause());
        }
        Optional<ImageStore.Image> existing = fit.newestFitting(images);
        if (existing.isPresent()) {
            return skipped("image " + existing.get().id() + " of this build is already in " + store.root()
                    + " (restore it with bin/cryo run, or delete it to checkpoint again)");
        }
        if (!images.isEmpty()) {
            LOG.info("No image in {} fits this process, so a new one is written; the newest, image {}, {}", store.root(),
                    images.get(0).id(), fit.misfit(images.get(0)).orElse("fits"));
        }
        Failures failures = new Failures(api, store.root());
        LibCriu criu = preflight(store, failures);
        return steps(store, build, criu, failures);
    }

    private CheckpointOutcome steps(ImageStore store, BuildKey.Parts build, LibCriu criu, Failures failures)
            throws CheckpointException, RestoreException {
        Sequence steps = new Sequence(api);
        MappedLibraries.digestAhead();
        ClaimStep.Claim claim = steps.run(new ClaimStep(store, build.key(), failures));
        if (claim.file().isEmpty()) {
            return skipped("another process (" + claim.holder() + ") is checkpointing this build into "
                    + store.root() + " right now");
        }
        Optional<GpuCheckpoint> gpu;
        try {
            gpu = detectGpu();
        } catch (CheckpointException e) {
            throw steps.undo(e, "the GPU state cannot be checkpointed here");
        }
        api.refreshGpus(); // the list at checkpoint, so that a restored copy can say what changed

        steps.run(new ResourcesStep(api));
        if (options.collectGarbage()) {
            steps.run(new CollectGarbageStep());
        }
        // The image directory comes before the GPU suspend: the device memory Cryo moves itself
        // goes into it first, so that the driver's checkpoint moves only the rest.
        ImageDirectoryStep.ImageDirectory dir = steps.run(new ImageDirectoryStep(store, failures));
        DeviceMemoryStep.Moved deviceMemory = steps.run(new DeviceMemoryStep(dir.tmp(), failures));
        Optional<GpuSuspendStep.Suspended> suspended = Optional.empty();
        if (gpu.isPresent()) {
            suspended = Optional.of(steps.run(new GpuSuspendStep(gpu.get(), options.gpuLockTimeout(), failures,
                    store.root())));
        }
        DescribeStep.Described described = steps.run(new DescribeStep(dir.tmp(), options));
        steps.run(new StdioStep(store.root()));
        StoredFilesStep.Stored stored = steps.run(new StoredFilesStep(options.storeFiles(), dir.tmp(), failures));
        List<GpuMemoryFiles.Region> inFiles = List.of();
        if (suspended.isPresent() && options.gpuMemoryFiles() && !suspended.get().hostCopy().isEmpty()) {
            inFiles = steps.run(new GpuMemoryFilesStep(suspended.get().hostCopy(), dir.tmp(), failures)).regions();
        }
        DumpStep.Dumped dumped = steps.run(new DumpStep(criu, store, dir.tmp(), options, failures));
        if (dumped.result() == DumpResult.RESTORED) {
            return restored(steps, store, dir.id());
        }

        Map<String, Long> millis = steps.millis();
        // Each step's time, for benchmarks and for users comparing images.
        ImageMetadata.Timings timings = new ImageMetadata.Timings(millis.getOrDefault("criuDump", 0L),
                (System.nanoTime() - started) / 1_000_000, millis);
        ImageMetadata metadata = new ImageMetadata(dir.id(), described.created(), build, described.process(),
                Optional.of(described.runtime()), described.criu(), described.openFiles(), stored.files(),
                suspended.map(GpuSuspendStep.Suspended::facts), inFiles, deviceMemory.layout(), timings, Map.of(),
                Optional.of(described.environment().digests()), described.libraries());
        StepTimings.writeCheckpoint(dir.tmp(), dir.id(), timings);
        Path image = steps.run(new CommitStep(store, dir.tmp(), metadata, failures)).image();
        Duration pause = Duration.ofNanos(System.nanoTime() - started);
        long bytes = 0;
        try {
            bytes = ImageMetadata.read(image).imageBytes();
        } catch (IOException e) {
            // only for the log line
        }
        LOG.info("Checkpoint image {} written to {}: {} in {} ms (steps: {})", dir.id(), image, megabytes(bytes),
                pause.toMillis(), steps.millis());
        if (options.exitAfterCheckpoint()) {
            LOG.info("Exiting after the checkpoint, as asked (exitAfterCheckpoint)");
            System.exit(0);
        }
        CheckpointOutcome outcome = api.outcome(CheckpointOutcome.Kind.CHECKPOINTED, image, dir.id(), null, pause);
        throwIfFailed(steps.afterDump(outcome).failures(), outcome);
        return outcome;
    }

    private CheckpointOutcome restored(Sequence steps, ImageStore store, String id) throws RestoreException {
        // The marker comes first so that log readers can tell a restored process at once.
        LOG.info("CRYO RESTORED from checkpoint image {} ({})", id, store.imagePath(id));
        CheckpointOutcome outcome = api.outcome(CheckpointOutcome.Kind.RESTORED, store.imagePath(id), id, null,
                Duration.ZERO);
        Map<String, Long> restoreSteps = new LinkedHashMap<>();
        List<Exception> failures = steps.afterRestore(outcome, restoreSteps).failures();
        // One line with every step, in a fixed form that scripts and benchmarks read.
        LOG.info("Restore steps (ms): {}", restoreSteps);
        Map<String, Object> timings = new LinkedHashMap<>();
        timings.put("pid", ProcessHandle.current().pid());
        timings.put("steps", restoreSteps);
        StepTimings.appendRestore(store.imagePath(id), "app", timings);
        throwIfFailed(failures, outcome);
        return outcome;
    }

    private CheckpointOutcome skipped(String why) {
        LOG.info("Checkpoint skipped: {}", why);
        return api.outcome(CheckpointOutcome.Kind.SKIPPED, null, null, why, Duration.ZERO);
    }

    private void throwIfFailed(List<Exception> failures, CheckpointOutcome outcome) throws RestoreException {
        if (!failures.isEmpty()) {
            RestoreException e = api.restoreFailure(failures.size() + " failure(s) bringing the process back ("
                    + outcome.kind() + "): " + failures.get(0).getMessage(), outcome);
            failures.forEach(e::addSuppressed);
            throw e;
        }
    }

    /** The process's CUDA state, if it has any; a driver without the checkpoint API is an error. */
    private Optional<GpuCheckpoint> detectGpu() throws CheckpointException {
        try {
            Optional<GpuCheckpoint> gpu = GpuCheckpoint.forCurrentProcess();
            if (gpu.isEmpty()) {
                LOG.info("No CUDA state in this process (libcuda not loaded, or CUDA not initialized): GPU step skipped");
            }
            return gpu;
        } catch (RuntimeException e) {
            throw api.checkpointFailure(Reason.GPU, "This process uses CUDA, and its GPU state cannot be"
                    + " checkpointed here: " + e.getMessage(), e);
        }
    }

    /** Checks everything that can be checked before any resource is disturbed. */
    private LibCriu preflight(ImageStore store, Failures failures) throws CheckpointException {
        if (!ProcessFacts.mayCheckpoint()) {
            throw api.checkpointFailure(Reason.NOT_PERMITTED, "This process (uid " + ProcessFacts.effectiveUid()
                    + ") may not checkpoint itself: CRIU needs root, or the capabilities CAP_CHECKPOINT_RESTORE and"
                    + " CAP_SYS_PTRACE (Linux 5.9+). Run the app as root, or grant them (in a container:"
                    + " --cap-add CHECKPOINT_RESTORE --cap-add SYS_PTRACE).", null);
        }
        LibCriu criu = CriuAccess.libCriu(api);
        Path root = store.root();
        try {
            Path existing = root;
            while (existing != null && !Files.exists(existing)) {
                existing = existing.getParent();
            }
            if (existing == null || !Files.isDirectory(existing)) {
                throw new IOException((existing == null ? root : existing) + " is not a directory");
            }
            if (!Files.isWritable(existing) || Files.getFileStore(existing).isReadOnly()) {
                throw new IOException(existing + " is not writable");
            }
            // The device memory Cryo moves itself goes into the image too.
            long need = (long) ((ProcessFacts.residentBytes() + DeviceMemoryRegistry.liveBytes()) * SPACE_MARGIN);
            long free = Files.getFileStore(existing).getUsableSpace();
            if (free < need) {
                throw api.checkpointFailure(Reason.NO_SPACE, String.format(Locale.ROOT,
                        "Not enough free space for the snapshot in %s: about %s needed (the process's resident"
                                + " memory and its DeviceMemory), %s free. Free some space or choose another image directory (option"
                                + " imageDirectory, -Dcryo.image.dir, CRYO_IMAGE_DIR, or bin/cryo --image).",
                        root, megabytes(need), megabytes(free)), null);
            }
        } catch (IOException e) {
            throw failures.imageDirectory(e);
        }
        for (Path p : options.storeFiles()) {
            String unfit = StoredFiles.unfit(p);
            if (unfit != null) {
                throw api.checkpointFailure(Reason.STORED_FILE, "Cannot keep " + p + " in the image: " + unfit
                        + ". Fix the path given to CheckpointOptions.storeFiles.", null);
            }
        }
        ensureSessionInsideNamespace();
        return criu;
    }

    /**
     * CRIU refuses a process whose session leader lives outside its PID namespace, which is how
     * containers and CI runners often start processes (no setsid). A session of our own fixes that;
     * the only other change is that a terminal's Ctrl-C no longer reaches the app.
     */
    private void ensureSessionInsideNamespace() throws CheckpointException {
        if (!ProcessFacts.sessionLeaderOutside()) {
            return;
        }
        if (ProcessFacts.leadsProcessGroup()) {
            throw api.checkpointFailure(Reason.DUMP_FAILED, "This process's session leader is outside its PID"
                    + " namespace (a container or runner that started it without setsid), so CRIU cannot dump it,"
                    + " and it leads its own process group, so it cannot start a session of its own. Start the app"
                    + " through bin/cryo run, or with setsid (setsid java ...).", null);
        }
        int sid = LibC.setsid();
        LOG.info("This process's session leader was outside its PID namespace, where CRIU cannot dump it; it now"
                + " leads a session of its own (sid {})", sid);
    }

    static String rate(long bytes, long millis) {
        return millis <= 0 ? "-" : String.format(Locale.ROOT, "%.2f GB/s", bytes / 1e6 / millis);
    }

    static String megabytes(long bytes) {
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }
}
