package dev.cryo.internal.checkpoint;

import dev.cryo.CheckpointException;
import dev.cryo.CheckpointException.Reason;
import dev.cryo.Checkpointer;
import dev.cryo.internal.GpuInventory;
import dev.cryo.internal.GpuMemoryFiles;
import dev.cryo.internal.ProcessFacts;
import dev.cryo.internal.ImageMetadata;
import dev.cryo.internal.LaunchHandoff;
import dev.cryo.internal.cuda.GpuCheckpoint;
import dev.cryo.internal.cuda.GpuPair;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Locks the process's CUDA state and has the driver copy device memory to the host. Finds that
 * host copy (the mappings the driver added) for the GPU memory files. The GPU state comes back
 * after a later failure, after the dump, and in a restored copy (onto the GPUs present then).
 */
record GpuSuspendStep(GpuCheckpoint gpu, Duration lockTimeout, Failures failures, Path store)
        implements Step<GpuSuspendStep.Suspended> {
    private static final Logger LOG = LoggerFactory.getLogger(Checkpointer.class);

    /**
     * The suspended GPU state.
     *
     * @param hostCopy the driver's host copy of the device memory; empty when it could not be told apart
     * @param facts    what the image records of the GPUs and the suspend
     */
    record Suspended(GpuCheckpoint gpu, Path store, List<GpuMemoryFiles.Region> hostCopy, ImageMetadata.Gpu facts)
            implements Done {
        @Override
        public void undo(Resumption r) {
            gpu.resume(List.of());
        }

        @Override
        public void afterDump(Resumption r) {
            if (r.isGpuMemoryLost()) {
                return;
            }
            GpuCheckpoint.Resumed resumed = gpu.resume(List.of());
            LOG.info("GPU state back on the GPU in the original process: restore {} ms, unlock {} ms",
                    resumed.restoreMillis(), resumed.unlockMillis());
        }

        @Override
        public void afterRestore(Resumption r) {
            if (r.isGpuMemoryLost()) {
                return;
            }
            String id = r.outcome().imageId().orElse("?");
            try {
                // The process is locked: its own CUDA calls would block until unlock, so the GPUs
                // present now are read from the driver's /proc listing.
                List<GpuPair> remap = GpuCheckpoint.planRemap(gpu.devices(), GpuInventory.present(),
                        LaunchHandoff.restoreGpuMap(store, ProcessHandle.current().pid()));
                GpuCheckpoint.Resumed resumed = gpu.resume(remap);
                r.record("gpuRestore", resumed.restoreMillis());
                r.record("gpuUnlock", resumed.unlockMillis());
                LOG.info("GPU state restored{}: restore {} ms, unlock {} ms", remap.isEmpty() ? ""
                        : " onto other GPUs " + remap.stream().map(p -> p.to().uuidString()).toList(),
                        resumed.restoreMillis(), resumed.unlockMillis());
            } catch (RuntimeException e) {
                r.failed(new IllegalStateException("The GPU state of image " + id + " could not be restored: "
                        + e.getMessage() + " This process has no usable GPU state: stop it and start the app cold"
                        + " (bin/cryo run --cold), or restore where the GPUs of the checkpoint are.", e));
            }
        }
    }

    @Override
    public String name() {
        return "gpuSuspend";
    }

    @Override
    public Suspended run() throws CheckpointException {
        long residentBefore = ProcessFacts.residentBytes();
        List<GpuMemoryFiles.Region> mappedBefore;
        try {
            mappedBefore = GpuMemoryFiles.allMappings();
        } catch (RuntimeException e) {
            mappedBefore = null; // unknown: no GPU memory files this time
        }
        GpuCheckpoint.Suspended s;
        try {
            s = gpu.suspend(lockTimeout);
        } catch (RuntimeException e) {
            throw failures.of(Reason.GPU, "Could not checkpoint the GPU state: " + e.getMessage()
                    + ". No snapshot was taken; the app goes on with its GPU state intact.", e);
        }
        List<GpuMemoryFiles.Region> hostCopy;
        try {
            hostCopy = mappedBefore == null ? List.of()
                    : GpuMemoryFiles.newlyMapped(mappedBefore, GpuMemoryFiles.anonymousRegions());
            LOG.debug("GPU host copy found in {}", hostCopy);
        } catch (RuntimeException e) {
            hostCopy = List.of(); // then CRIU dumps it with the rest
        }
        long moved = Math.max(0, ProcessFacts.residentBytes() - residentBefore);
        ImageMetadata.Gpu facts = new ImageMetadata.Gpu(gpu.devices(), gpu.driverVersion(), moved, s.lockMillis(),
                s.checkpointMillis());
        LOG.info("GPU state checkpointed: {} moved to host memory; lock {} ms, checkpoint {} ms ({})",
                CheckpointSequence.megabytes(moved), s.lockMillis(), s.checkpointMillis(),
                CheckpointSequence.rate(moved, s.checkpointMillis()));
        return new Suspended(gpu, store, hostCopy, facts);
    }
}
