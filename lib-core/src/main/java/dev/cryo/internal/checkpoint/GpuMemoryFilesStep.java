package dev.cryo.internal.checkpoint;

import dev.cryo.CheckpointException;
import dev.cryo.CheckpointException.Reason;
import dev.cryo.Checkpointer;
import dev.cryo.internal.GpuMemoryFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the driver's host copy of the GPU memory into files of the image and drops its pages
 * (see {@link GpuMemoryFiles}); they are read back before the GPU state is resumed, in the
 * original after a failure or the dump, and in a restored copy.
 */
record GpuMemoryFilesStep(List<GpuMemoryFiles.Region> hostCopy, Path tmp, Failures failures)
        implements Step<GpuMemoryFilesStep.Saved> {
    private static final Logger LOG = LoggerFactory.getLogger(Checkpointer.class);

    /**
     * The host copy, now in files.
     *
     * @param regions the memory in files, in the order of the files
     * @param tmp     the image's temporary directory, where the files are until the image is complete
     */
    record Saved(List<GpuMemoryFiles.Region> regions, Path tmp) implements Done {
        @Override
        public void undo(Resumption r) {
            try {
                GpuMemoryFiles.load(regions, tmp);
            } catch (IOException | RuntimeException e) {
                r.failed(lost(tmp, e));
            }
        }

        @Override
        public void afterDump(Resumption r) {
            // The files were just written: read back from the page cache.
            long t = System.nanoTime();
            Path image = r.outcome().image().orElse(tmp);
            try {
                GpuMemoryFiles.load(regions, image);
            } catch (IOException | RuntimeException e) {
                r.gpuMemoryLost(lost(image, e));
            }
            r.timed("gpuMemoryReload", t);
            LOG.info("GPU memory read back from the image files in {} ms", r.millis("gpuMemoryReload"));
        }

        @Override
        public void afterRestore(Resumption r) {
            long t = System.nanoTime();
            try {
                GpuMemoryFiles.load(regions, r.outcome().image().orElseThrow());
            } catch (IOException | RuntimeException e) {
                r.gpuMemoryLost(new IllegalStateException("The GPU memory of image " + r.outcome().imageId().orElse("?")
                        + " could not be read back: " + e + ". This process has no usable GPU state: stop it and start"
                        + " the app cold (bin/cryo run --cold); the image may be damaged (delete it).", e));
            }
            r.timed("gpuMemoryFiles", t);
        }

        private static IllegalStateException lost(Path dir, Exception e) {
            // Nothing else holds these bytes.
            LOG.error("Could not read the GPU memory back from {}: {}", dir, e.toString());
            return new IllegalStateException("Could not read the GPU memory back from " + dir + ": " + e
                    + ". This process's GPU state is lost: restart the app.", e);
        }
    }

    @Override
    public String name() {
        return "gpuMemoryFiles";
    }

    @Override
    public Saved run() throws CheckpointException {
        long t = System.nanoTime();
        try {
            GpuMemoryFiles.save(hostCopy, tmp);
        } catch (IOException | RuntimeException e) {
            throw e instanceof IOException io && Failures.isNoSpace(io) ? failures.noSpace(io)
                    : failures.of(Reason.GPU, "Could not write the GPU memory into the image: " + e
                            + ". No snapshot was taken; the app goes on with its GPU state intact.", e);
        }
        long ms = (System.nanoTime() - t) / 1_000_000;
        long bytes = hostCopy.stream().mapToLong(GpuMemoryFiles.Region::bytes).sum();
        LOG.info("GPU memory written beside CRIU's pages: {} in {} ms ({})", CheckpointSequence.megabytes(bytes), ms,
                CheckpointSequence.rate(bytes, ms));
        return new Saved(hostCopy, tmp);
    }
}
