package dev.cryo;

import dev.cryo.CheckpointException.Reason;
import dev.cryo.internal.BuildKey;
import dev.cryo.internal.GpuInventory;
import dev.cryo.internal.GpuMemoryFiles;
import dev.cryo.internal.cuda.GpuCheckpoint;
import dev.cryo.internal.cuda.GpuPair;
import dev.cryo.internal.ImageMetadata;
import dev.cryo.internal.ImageStore;
import dev.cryo.internal.OpenFiles;
import dev.cryo.internal.ProcessFacts;
import dev.cryo.internal.ResourceChain;
import dev.cryo.internal.RestoreRequest;
import dev.cryo.internal.RuntimeKey;
import dev.cryo.internal.StoredFiles;
import dev.cryo.internal.criu.CriuException;
import dev.cryo.internal.criu.CriuRequest;
import dev.cryo.internal.criu.CriuRequest.DumpResult;
import dev.cryo.internal.criu.LibCriu;
import dev.cryo.internal.os.LibC;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** One call of {@link Checkpointer#checkpointNow(CheckpointOptions)}, step by step. */
final class CheckpointRun {
    private static final Logger LOG = LoggerFactory.getLogger(Checkpointer.class);
    private static final ReentrantLock IN_PROGRESS = new ReentrantLock();
    static final String DUMP_LOG = "dump.log";
    /** The image keeps this much more free space than the resident memory it will hold. */
    private static final double SPACE_MARGIN = 1.10;

    private final CheckpointOptions options;
    private final long started = System.nanoTime();
    private final Map<String, Long> stepMillis = new LinkedHashMap<>();
    // The driver's host copy of GPU memory, and whether it went into files of its own (then its
    // pages are dropped until read back).
    private List<GpuMemoryFiles.Region> hostCopy = List.of();
    private boolean memoryFilesSaved;

    CheckpointRun(CheckpointOptions options) {
        this.options = options;
    }

    CheckpointOutcome run() throws CheckpointException, RestoreException {
        if (!IN_PROGRESS.tryLock()) {
            throw new CheckpointException(Reason.IN_PROGRESS, "Another thread of this process is taking a"
                    + " checkpoint right now; call checkpointNow() once, from one thread.", null);
        }
        try {
            return locked();
        } finally {
            IN_PROGRESS.unlock();
        }
    }

    private CheckpointOutcome locked() throws CheckpointException, RestoreException {
        ImageStore store = new ImageStore(ImageLocation.resolve(options));
        String buildKey = buildKey();
        Optional<String> skip = existingImage(store, buildKey);
        if (skip.isPresent()) {
            LOG.info("Checkpoint skipped: {}", skip.get());
            return new CheckpointOutcome(CheckpointOutcome.Kind.SKIPPED, null, null, skip.get(), Duration.ZERO);
        }
        LibCriu criu = preflight(store);
        Optional<Path> claim;
        try {
            claim = store.claim(buildKey);
        } catch (IOException e) {
            throw imageDirectoryError(store, e);
        }
        if (claim.isEmpty()) {
            String why = "another process (" + store.claimHolder(buildKey) + ") is checkpointing this build into "
                    + store.root() + " right now";
            LOG.info("Checkpoint skipped: {}", why);
            return new CheckpointOutcome(CheckpointOutcome.Kind.SKIPPED, null, null, why, Duration.ZERO);
        }
        boolean restoredCopy = false;
        try {
            CheckpointOutcome outcome = claimed(store, buildKey, criu);
            restoredCopy = outcome.isRestored();
            return outcome;
        } catch (RestoreException e) {
            restoredCopy = e.outcome().isRestored();
            throw e;
        } finally {
            // Only the original gives its claim back: a restored copy has the same pid, and the file
            // may meanwhile be another process's claim.
            if (!restoredCopy) {
                ImageStore.release(claim.get());
            }
        }
    }

    /** Why no new image is needed: a whole one of this build is already in the store. */
    private static Optional<String> existingImage(ImageStore store, String buildKey) {
        Map<String, String> here = RuntimeKey.current();
        for (ImageStore.Image image : store.images()) {
            if (image.defect().isEmpty() && buildKey.equals(image.metadata().get("build.key"))
                    && RuntimeKey.misfit(image.metadata().asMap(), here).isEmpty()) {
                return Optional.of("image " + image.id() + " of this build is already in " + store.root()
                        + " (restore it with bin/cryo run, or delete it to checkpoint again)");
            }
        }
        return Optional.empty();
    }

    private static String buildKey() {
        String key = System.getenv(BuildKey.ENV);
        return key != null && !key.isBlank() ? key : BuildKey.of(ProcessFacts.commandLine(), Path.of("").toAbsolutePath());
    }

    private CheckpointOutcome claimed(ImageStore store, String buildKey, LibCriu criu)
            throws CheckpointException, RestoreException {
        Optional<GpuCheckpoint> gpu = detectGpu();
        Checkpointer.refreshGpus(); // the list at checkpoint, so that a restored copy can say what changed

        long t = System.nanoTime();
        ResourceChain.Notified<Resource> notified = Checkpointer.RESOURCES.beforeCheckpoint();
        step("beforeCheckpoint", t);
        if (!notified.failures().isEmpty()) {
            CheckpointException e = new CheckpointException(Reason.RESOURCE_FAILED, notified.failures().size()
                    + " resource(s) failed in beforeCheckpoint, so no snapshot was taken: "
                    + notified.failures().get(0).getMessage() + ". Fix the resource (see the suppressed exceptions);"
                    + " the resources already notified got afterRestore.", null);
            notified.failures().forEach(e::addSuppressed);
            rollback(notified.ready(), e, "a resource failed before the checkpoint");
            throw e;
        }

        if (options.collectGarbage()) {
            compactHeap();
        }
        Map<String, String> gpuFacts = new LinkedHashMap<>();
        if (gpu.isPresent()) {
            suspendGpu(gpu.get(), gpuFacts, notified.ready());
        }

        String id = ImageStore.newId();
        Path tmp;
        try {
            tmp = store.begin(id);
        } catch (IOException e) {
            CheckpointException ce = imageDirectoryError(store, e);
            gpu.ifPresent(g -> resumeAfterFailure(g, ce));
            rollback(notified.ready(), ce, "the image directory could not be created");
            throw ce;
        }

        Map<String, String> metadata = describe(id, tmp, buildKey);
        for (Preflight.Finding f : Preflight.check()) {
            LOG.warn("Before the checkpoint: {}", f);
        }
        metadata.putAll(gpuFacts);
        metadata.putAll(OpenFiles.describe(OpenFiles.current()));
        try {
            metadata.putAll(StoredFiles.store(options.storeFiles(), tmp));
        } catch (IOException e) {
            store.abort(tmp, DUMP_LOG);
            CheckpointException ce = isNoSpace(e) ? noSpace(store, e) : new CheckpointException(Reason.STORED_FILE,
                    "Could not copy the files to keep into the image (storeFiles): " + e + ". No snapshot was taken.", e);
            gpu.ifPresent(g -> resumeAfterFailure(g, ce));
            rollback(notified.ready(), ce, "a file to keep could not be stored");
            throw ce;
        }
        if (options.gpuMemoryFiles() && !hostCopy.isEmpty()) {
            t = System.nanoTime();
            try {
                metadata.putAll(GpuMemoryFiles.save(hostCopy, tmp));
                memoryFilesSaved = true;
            } catch (IOException | RuntimeException e) {
                CheckpointException ce = e instanceof IOException io && isNoSpace(io) ? noSpace(store, io)
                        : new CheckpointException(Reason.GPU, "Could not write the GPU memory into the image: " + e
                                + ". No snapshot was taken; the app goes on with its GPU state intact.", e);
                store.abort(tmp, DUMP_LOG);
                gpu.ifPresent(g -> resumeAfterFailure(g, ce));
                rollback(notified.ready(), ce, "the GPU memory could not be written");
                throw ce;
            }
            step("gpuMemoryFiles", t);
            long bytes = hostCopy.stream().mapToLong(GpuMemoryFiles.Region::bytes).sum();
            LOG.info("GPU memory written beside CRIU's pages: {} in {} ms ({})", megabytes(bytes),
                    stepMillis.get("gpuMemoryFiles"), rate(bytes, stepMillis.get("gpuMemoryFiles")));
        }
        Set<Integer> childrenBefore = ProcessFacts.childPids();
        long ghostLimit = unlinkPerfData(options.ghostLimitBytes());
        DumpResult result;
        t = System.nanoTime();
        try (CriuRequest request = criu.newRequest()) {
            request.imagesDirectory(tmp)
                    .log(DUMP_LOG, options.criuLogLevel())
                    // Always leave running: the image is finished (metadata, rename) by this process
                    // after CRIU returns; exitAfterCheckpoint exits only once that is done.
                    .leaveRunning(true)
                    .shellJob(true)
                    .tcpEstablished(options.tcpEstablished())
                    .externalUnixSockets(options.externalUnixSockets())
                    .fileLocks(options.fileLocks())
                    .ghostLimit(ghostLimit);
            result = request.dump();
        } catch (CriuException e) {
            Optional<RuntimeException> lost = reloadGpuMemoryOrFailure(tmp);
            Path kept = store.abort(tmp, DUMP_LOG).orElse(null);
            CheckpointException ce = dumpError(e, kept, store);
            lost.ifPresent(ce::addSuppressed);
            gpu.ifPresent(g -> resumeAfterFailure(g, ce));
            rollback(notified.ready(), ce, "CRIU failed");
            throw ce;
        } catch (RuntimeException e) {
            Optional<RuntimeException> lost = reloadGpuMemoryOrFailure(tmp);
            store.abort(tmp, DUMP_LOG);
            CheckpointException ce = new CheckpointException(Reason.DUMP_FAILED,
                    "Checkpoint failed before CRIU could dump: " + e, e);
            lost.ifPresent(ce::addSuppressed);
            gpu.ifPresent(g -> resumeAfterFailure(g, ce));
            rollback(notified.ready(), ce, "the dump could not start");
            throw ce;
        }
        step("criuDump", t);
        reapLibCriuZombies(childrenBefore);

        if (result == DumpResult.RESTORED) {
            return restored(store, id, notified.ready(), gpu);
        }
        return dumped(store, id, tmp, metadata, notified.ready(), gpu);
    }

    /**
     * libcriu starts CRIU for a self-dump through daemon(): the intermediate process exits and
     * stays our zombie child, and is dumped as one. Left alone it would hold its PID after this
     * process exits, and the restore, which recreates that zombie, fails with "File exists".
     * Reap what appeared during the dump, here and in every restored copy.
     */
    private static void reapLibCriuZombies(Set<Integer> childrenBefore) {
        for (int pid : ProcessFacts.childPids()) {
            if (!childrenBefore.contains(pid) && ProcessFacts.isZombie(pid)) {
                LibC.reapIfExited(pid);
            }
        }
    }

    private CheckpointOutcome restored(ImageStore store, String id, List<Resource> ready, Optional<GpuCheckpoint> gpu)
            throws RestoreException {
        // The marker comes first so that log readers can tell a restored process at once.
        LOG.info("CRYO RESTORED from checkpoint image {} ({})", id, store.imagePath(id));
        CheckpointOutcome outcome = new CheckpointOutcome(CheckpointOutcome.Kind.RESTORED, store.imagePath(id), id,
                null, Duration.ZERO);
        Map<String, Long> restoreSteps = new LinkedHashMap<>();
        Exception gpuFailure = null;
        if (memoryFilesSaved) {
            long t = System.nanoTime();
            try {
                GpuMemoryFiles.load(hostCopy, store.imagePath(id));
            } catch (IOException | RuntimeException e) {
                gpuFailure = new IllegalStateException("The GPU memory of image " + id + " could not be read back: "
                        + e + ". This process has no usable GPU state: stop it and start the app cold (bin/cryo run"
                        + " --cold); the image may be damaged (delete it).", e);
            }
            restoreSteps.put("gpuMemoryFiles", (System.nanoTime() - t) / 1_000_000);
        }
        if (gpu.isPresent() && gpuFailure == null) {
            try {
                // The process is locked: its own CUDA calls would block until unlock, so the GPUs
                // present now are read from the driver's /proc listing.
                List<GpuPair> remap = GpuCheckpoint.planRemap(gpu.get().devices(), GpuInventory.present(),
                        RestoreRequest.gpuMap(store.root(), ProcessHandle.current().pid()));
                GpuCheckpoint.Resumed r = gpu.get().resume(remap);
                restoreSteps.put("gpuRestore", r.restoreMillis());
                restoreSteps.put("gpuUnlock", r.unlockMillis());
                LOG.info("GPU state restored{}: restore {} ms, unlock {} ms", remap.isEmpty() ? ""
                        : " onto other GPUs " + remap.stream().map(p -> p.to().uuidString()).toList(),
                        r.restoreMillis(), r.unlockMillis());
            } catch (RuntimeException e) {
                gpuFailure = new IllegalStateException("The GPU state of image " + id + " could not be restored: "
                        + e.getMessage() + " This process has no usable GPU state: stop it and start the app cold"
                        + " (bin/cryo run --cold), or restore where the GPUs of the checkpoint are.", e);
            }
        }
        List<Exception> failures = new ArrayList<>();
        if (gpuFailure != null) {
            failures.add(gpuFailure);
        }
        long t = System.nanoTime();
        List<Gpu> before = Checkpointer.gpus();
        List<Gpu> now = Checkpointer.refreshGpus();
        if (!now.equals(before)) {
            LOG.info("The GPUs differ from those at checkpoint: {} then, {} now", before, now);
        }
        failures.addAll(Checkpointer.refreshDeviceCaches(now));
        restoreSteps.put("deviceRefresh", (System.nanoTime() - t) / 1_000_000);
        t = System.nanoTime();
        failures.addAll(Checkpointer.RESOURCES.afterRestore(ready, outcome));
        restoreSteps.put("afterRestore", (System.nanoTime() - t) / 1_000_000);
        // One line with every step, in a fixed form that scripts and benchmarks read.
        LOG.info("Restore steps (ms): {}", restoreSteps);
        throwIfFailed(failures, outcome);
        return outcome;
    }

    private CheckpointOutcome dumped(ImageStore store, String id, Path tmp, Map<String, String> metadata,
            List<Resource> ready, Optional<GpuCheckpoint> gpu) throws CheckpointException, RestoreException {
        long t = System.nanoTime();
        Optional<RuntimeException> lost = reloadGpuMemoryOrFailure(tmp);
        if (memoryFilesSaved) {
            step("gpuMemoryReload", t);
        }
        t = System.nanoTime();
        Path image;
        try {
            metadata.put("dump.millis", Long.toString(stepMillis.getOrDefault("criuDump", 0L)));
            // Each step's time, for benchmarks and for users comparing images.
            stepMillis.forEach((name, ms) -> metadata.put("step." + name + ".millis", Long.toString(ms)));
            metadata.put("checkpoint.millis", Long.toString((System.nanoTime() - started) / 1_000_000));
            image = store.commit(tmp, id, metadata);
        } catch (IOException e) {
            store.abort(tmp, DUMP_LOG);
            CheckpointException ce = Files.isWritable(store.root()) && isNoSpace(e)
                    ? noSpace(store, e) : imageDirectoryError(store, e);
            gpu.ifPresent(g -> resumeAfterFailure(g, ce));
            rollback(ready, ce, "the image could not be completed");
            throw ce;
        }
        step("commit", t);
        Duration pause = Duration.ofNanos(System.nanoTime() - started);
        long bytes = ImageMetadata.read(image).map(m -> m.getLong("image.bytes", 0)).orElse(0L);
        LOG.info("Checkpoint image {} written to {}: {} in {} ms (steps: {})", id, image, megabytes(bytes),
                pause.toMillis(), stepMillis);
        if (options.exitAfterCheckpoint()) {
            LOG.info("Exiting after the checkpoint, as asked (exitAfterCheckpoint)");
            System.exit(0);
        }
        CheckpointOutcome outcome = new CheckpointOutcome(CheckpointOutcome.Kind.CHECKPOINTED, image, id, null, pause);
        List<Exception> failures = new ArrayList<>();
        lost.ifPresent(failures::add);
        if (gpu.isPresent() && lost.isEmpty()) {
            try {
                GpuCheckpoint.Resumed r = gpu.get().resume(List.of());
                LOG.info("GPU state back on the GPU in the original process: restore {} ms, unlock {} ms",
                        r.restoreMillis(), r.unlockMillis());
            } catch (RuntimeException e) {
                failures.add(e);
            }
        }
        failures.addAll(Checkpointer.RESOURCES.afterRestore(ready, outcome));
        throwIfFailed(failures, outcome);
        return outcome;
    }

    private static void throwIfFailed(List<Exception> failures, CheckpointOutcome outcome) throws RestoreException {
        if (!failures.isEmpty()) {
            RestoreException e = new RestoreException(failures.size() + " failure(s) bringing the process back ("
                    + outcome.kind() + "): " + failures.get(0).getMessage(), outcome, null);
            failures.forEach(e::addSuppressed);
            throw e;
        }
    }

    /** After a failed checkpoint: the resources already notified get afterRestore, failures suppressed on {@code e}. */
    private static void rollback(List<Resource> ready, CheckpointException e, String why) {
        CheckpointOutcome skipped = new CheckpointOutcome(CheckpointOutcome.Kind.SKIPPED, null, null,
                "checkpoint failed: " + why, Duration.ZERO);
        Checkpointer.RESOURCES.afterRestore(ready, skipped).forEach(e::addSuppressed);
    }

    /** The process's CUDA state, if it has any; a driver without the checkpoint API is an error. */
    private static Optional<GpuCheckpoint> detectGpu() throws CheckpointException {
        try {
            Optional<GpuCheckpoint> gpu = GpuCheckpoint.forCurrentProcess();
            if (gpu.isEmpty()) {
                LOG.info("No CUDA state in this process (libcuda not loaded, or CUDA not initialized): GPU step skipped");
            }
            return gpu;
        } catch (RuntimeException e) {
            throw new CheckpointException(Reason.GPU, "This process uses CUDA, and its GPU state cannot be"
                    + " checkpointed here: " + e.getMessage(), e);
        }
    }

    /** Lock and checkpoint the CUDA state; on failure the GPU state is intact and the resources rolled back. */
    private void suspendGpu(GpuCheckpoint gpu, Map<String, String> facts, List<Resource> ready)
            throws CheckpointException {
        long residentBefore = ProcessFacts.residentBytes();
        List<GpuMemoryFiles.Region> mappedBefore;
        try {
            mappedBefore = GpuMemoryFiles.allMappings();
        } catch (RuntimeException e) {
            mappedBefore = null; // unknown: no GPU memory files this time
        }
        long t = System.nanoTime();
        GpuCheckpoint.Suspended s;
        try {
            s = gpu.suspend(options.gpuLockTimeout());
        } catch (RuntimeException e) {
            CheckpointException ce = new CheckpointException(Reason.GPU, "Could not checkpoint the GPU state: "
                    + e.getMessage() + ". No snapshot was taken; the app goes on with its GPU state intact.", e);
            rollback(ready, ce, "the GPU state could not be checkpointed");
            throw ce;
        }
        step("gpuSuspend", t);
        try {
            hostCopy = mappedBefore == null ? List.of()
                    : GpuMemoryFiles.newlyMapped(mappedBefore, GpuMemoryFiles.anonymousRegions());
            LOG.debug("GPU host copy found in {}", hostCopy);
        } catch (RuntimeException e) {
            hostCopy = List.of(); // then CRIU dumps it with the rest
        }
        long moved = Math.max(0, ProcessFacts.residentBytes() - residentBefore);
        facts.putAll(GpuCheckpoint.describe(gpu.devices()));
        facts.put("gpu.driver", gpu.driverVersion());
        facts.put("gpu.hostBytes", Long.toString(moved));
        facts.put("gpu.lockMillis", Long.toString(s.lockMillis()));
        facts.put("gpu.checkpointMillis", Long.toString(s.checkpointMillis()));
        LOG.info("GPU state checkpointed: {} moved to host memory; lock {} ms, checkpoint {} ms ({})", megabytes(moved),
                s.lockMillis(), s.checkpointMillis(), rate(moved, s.checkpointMillis()));
    }

    /** After a failure past the GPU suspend: the GPU state goes back, or the failure says why not. */
    private static void resumeAfterFailure(GpuCheckpoint gpu, CheckpointException failure) {
        try {
            gpu.resume(List.of());
        } catch (RuntimeException e) {
            failure.addSuppressed(e);
        }
    }

    static String rate(long bytes, long millis) {
        return millis <= 0 ? "-" : String.format(Locale.ROOT, "%.2f GB/s", bytes / 1e6 / millis);
    }

    /**
     * A full collection before the dump: CRIU copies every resident page, garbage included, and
     * after a full GC the JVM gives free heap back to the OS (JEP 346), so the image holds little
     * more than live data. Smaller images write and restore faster.
     */
    private void compactHeap() {
        long t = System.nanoTime();
        long before = ProcessFacts.residentBytes();
        System.gc();
        if (!Boolean.getBoolean("cryo.noMallocTrim")) { // the C heap's free memory (JIT, class loading) back too
            LibC.mallocTrim();
        }
        // G1 gives the emptied regions back to the OS in a concurrent task after the collection:
        // wait (up to a second) until resident memory stops falling, so that CRIU dumps live data only.
        long after = ProcessFacts.residentBytes();
        long deadline = System.nanoTime() + 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            sleepQuietly(20);
            long now = ProcessFacts.residentBytes();
            if (now > after - (1L << 20)) {
                after = Math.min(after, now);
                break;
            }
            after = now;
        }
        step("gc", t);
        LOG.info("Collected garbage before the checkpoint: resident memory {} -> {}", megabytes(before), megabytes(after));
    }

    /**
     * The JVM maps its perf-data file, /tmp/hsperfdata_USER/PID, and CRIU reopens a mapped file by
     * its path at restore. But every JVM of that user that starts deletes the files of PIDs not
     * alive, and until the restore is done the PID is not: a restore raced with any JVM start.
     * Unlinked now, the file (32 KB) goes into the image as a CRIU ghost file and comes back with
     * the mapping whatever happens in that directory. The price: jps no longer lists the process.
     * Returns the ghost limit that fits it.
     */
    private static long unlinkPerfData(long ghostLimit) {
        Optional<Path> perf = ProcessFacts.hsperfdataFile().filter(Files::isRegularFile);
        if (perf.isEmpty()) {
            return ghostLimit;
        }
        try {
            long size = Files.size(perf.get());
            Files.delete(perf.get());
            return Math.max(ghostLimit, size + 4096);
        } catch (IOException e) {
            LOG.warn("Could not unlink the JVM's perf-data file {}: a JVM starting while this image is restored"
                    + " may delete it and fail the restore (start the app with -XX:-UsePerfData to avoid the file): {}",
                    perf.get(), e.toString());
            return ghostLimit;
        }
    }

    /**
     * In the original process, after the dump or a failed one: the GPU memory's host copy back from
     * its files, before the CUDA state is resumed. The files were just written (page cache).
     */
    private Optional<RuntimeException> reloadGpuMemoryOrFailure(Path dir) {
        if (!memoryFilesSaved) {
            return Optional.empty();
        }
        try {
            GpuMemoryFiles.load(hostCopy, dir);
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            // Nothing else holds these bytes: the GPU state is not resumed (it would be garbage).
            LOG.error("Could not read the GPU memory back from {}: {}", dir, e.toString());
            return Optional.of(new IllegalStateException("Could not read the GPU memory back from " + dir + ": "
                    + e + ". This process's GPU state is lost: restart the app.", e));
        }
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Checks everything that can be checked before any resource is disturbed. */
    private LibCriu preflight(ImageStore store) throws CheckpointException {
        if (!ProcessFacts.mayCheckpoint()) {
            throw new CheckpointException(Reason.NOT_PERMITTED, "This process (uid " + ProcessFacts.effectiveUid()
                    + ") may not checkpoint itself: CRIU needs root, or the capabilities CAP_CHECKPOINT_RESTORE and"
                    + " CAP_SYS_PTRACE (Linux 5.9+). Run the app as root, or grant them (in a container:"
                    + " --cap-add CHECKPOINT_RESTORE --cap-add SYS_PTRACE).", null);
        }
        LibCriu criu = CriuAccess.libCriu();
        Path root = store.root();
        try {
            Path existing = root;
            while (existing != null && !Files.exists(existing)) {
                existing = existing.getParent();
            }
            if (existing == null || !Files.isDirectory(existing)) {
                throw new IOException((existing == null ? root : existing) + " is not a directory");
            }
            if (!Files.isWritable(existing) || isReadOnly(existing)) {
                throw new IOException(existing + " is not writable");
            }
            long need = (long) (ProcessFacts.residentBytes() * SPACE_MARGIN);
            long free = Files.getFileStore(existing).getUsableSpace();
            if (free < need) {
                throw new CheckpointException(Reason.NO_SPACE, String.format(Locale.ROOT,
                        "Not enough free space for the snapshot in %s: about %s needed (the process's resident"
                                + " memory), %s free. Free some space or choose another image directory (option"
                                + " imageDirectory, -Dcryo.image.dir, CRYO_IMAGE_DIR, or bin/cryo --image).",
                        root, megabytes(need), megabytes(free)), null);
            }
        } catch (IOException e) {
            throw imageDirectoryError(store, e);
        }
        for (Path p : options.storeFiles()) {
            String unfit = StoredFiles.unfit(p);
            if (unfit != null) {
                throw new CheckpointException(Reason.STORED_FILE, "Cannot keep " + p + " in the image: " + unfit
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
    private static void ensureSessionInsideNamespace() throws CheckpointException {
        if (!Preflight.sessionLeaderOutside()) {
            return;
        }
        if (Preflight.leadsProcessGroup()) {
            throw new CheckpointException(Reason.DUMP_FAILED, "This process's session leader is outside its PID"
                    + " namespace (a container or runner that started it without setsid), so CRIU cannot dump it,"
                    + " and it leads its own process group, so it cannot start a session of its own. Start the app"
                    + " through bin/cryo run, or with setsid (setsid java ...).", null);
        }
        int sid = LibC.setsid();
        LOG.info("This process's session leader was outside its PID namespace, where CRIU cannot dump it; it now"
                + " leads a session of its own (sid {})", sid);
    }

    private static boolean isReadOnly(Path p) throws IOException {
        FileStore fs = Files.getFileStore(p);
        return fs.isReadOnly();
    }

    private Map<String, String> describe(String id, Path tmp, String buildKey) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("format", Integer.toString(ImageMetadata.FORMAT));
        m.put("id", id);
        m.put("created", Instant.now().toString());
        m.put("pid", Long.toString(ProcessHandle.current().pid()));
        List<String> cmd = ProcessFacts.commandLine();
        m.put("command", ImageMetadata.encodeList(cmd));
        m.put("cwd", Path.of("").toAbsolutePath().toString());
        m.put("main", System.getProperty("sun.java.command", ""));
        m.put("java.version", System.getProperty("java.version"));
        m.put("java.vm", System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"));
        m.put("java.home", System.getProperty("java.home"));
        m.put("os.arch", System.getProperty("os.arch"));
        m.put("os.kernel", System.getProperty("os.version"));
        m.put("build.key", buildKey);
        m.put("criu.version", LibCriu.formatVersion(CriuAccess.version()));
        // The dump's own images-directory descriptor is in the image; restore maps its old path.
        m.put("criu.dumpDirectory", tmp.toString());
        ProcessFacts.stdioKeys().forEach((fd, k) -> m.put("stdio." + fd, k));
        m.put("options.tcpEstablished", Boolean.toString(options.tcpEstablished()));
        m.put("options.externalUnixSockets", Boolean.toString(options.externalUnixSockets()));
        m.put("options.fileLocks", Boolean.toString(options.fileLocks()));
        m.put("resident.bytes", Long.toString(ProcessFacts.residentBytes()));
        m.putAll(RuntimeKey.current());
        return m;
    }

    private static CheckpointException dumpError(CriuException e, Path keptLog, ImageStore store) {
        String where = keptLog != null ? " CRIU's full log: " + keptLog + "." : "";
        if (e.isNoSpace()) {
            return new CheckpointException(Reason.NO_SPACE, "The disk under " + store.root() + " ran full while"
                    + " CRIU wrote the snapshot; nothing was kept. Free space or choose another image directory."
                    + where + " " + e.getMessage(), e);
        }
        return new CheckpointException(Reason.DUMP_FAILED, "CRIU could not dump this process; no snapshot was kept"
                + " and the app goes on. " + e.getMessage() + "\n" + where
                + " Common causes: established TCP connections (close them in a Resource, or tcpEstablished(true)),"
                + " unix sockets to other processes (externalUnixSockets(true)), open files that were deleted"
                + " (ghostLimitBytes).", e);
    }

    private static CheckpointException imageDirectoryError(ImageStore store, IOException e) {
        if (isNoSpace(e)) {
            return noSpace(store, e);
        }
        return new CheckpointException(Reason.IMAGE_DIRECTORY, "Cannot write the snapshot to " + store.root() + ": "
                + e + ". Choose a writable directory (option imageDirectory, -Dcryo.image.dir, CRYO_IMAGE_DIR, or"
                + " bin/cryo --image).", e);
    }

    private static CheckpointException noSpace(ImageStore store, IOException e) {
        return new CheckpointException(Reason.NO_SPACE, "The disk under " + store.root() + " is full: " + e
                + ". Free space or choose another image directory.", e);
    }

    private static boolean isNoSpace(IOException e) {
        return String.valueOf(e.getMessage()).contains("No space left on device");
    }

    private void step(String name, long startNanos) {
        stepMillis.put(name, (System.nanoTime() - startNanos) / 1_000_000);
    }

    static String megabytes(long bytes) {
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }
}
