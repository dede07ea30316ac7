package dev.cryo.internal.checkpoint;

import dev.cryo.CheckpointException;
import dev.cryo.CheckpointException.Reason;
import dev.cryo.Checkpointer;
import dev.cryo.internal.DeviceMemoryFiles;
import dev.cryo.internal.DeviceMemoryRegistry;
import java.io.IOException;
import java.nio.file.Path;
import org.slf4j.Logger;
import dev.cryo.internal.Logs;

/**
 * Copies the device memory Cryo moves itself ({@code dev.cryo.DeviceMemory}) into files of the
 * image through pinned pipelines and releases it, its addresses kept, so that the driver's
 * checkpoint (the next step) moves only the rest. The memory is mapped again at the same addresses
 * and filled from the files after a later failure, in the original after the dump, and in a
 * restored copy, each time after the GPU state is back. Allocations and frees wait meanwhile.
 */
record DeviceMemoryStep(Path tmp, Failures failures) implements Step<DeviceMemoryStep.Moved> {
    private static final Logger LOG = Logs.get(Checkpointer.class);

    /**
     * The memory, in files of the image and released.
     *
     * @param move the move, which holds the registry's lock until a hook ends it
     * @param tmp  the image's temporary directory, where the files are until the image is complete
     */
    record Moved(DeviceMemoryRegistry.Move move, Path tmp) implements Done {
        /** Where the memory is in the image's files. */
        DeviceMemoryFiles.Layout layout() {
            return move.layout();
        }

        @Override
        public void undo(Resumption r) {
            fill(r, tmp, "undo", "The device memory could not be filled again from " + tmp);
        }

        @Override
        public void afterDump(Resumption r) {
            fill(r, r.outcome().image().orElse(tmp), "deviceMemoryRefill",
                    "The device memory could not be filled again from the image");
        }

        @Override
        public void afterRestore(Resumption r) {
            fill(r, r.outcome().image().orElseThrow(), "deviceMemory", "The device memory of image "
                    + r.outcome().imageId().orElse("?") + " could not be filled");
        }

        private void fill(Resumption r, Path dir, String timing, String failure) {
            try {
                if (move.isEmpty() || !move.released()) {
                    return;
                }
                if (r.isGpuMemoryLost()) {
                    r.failed(new IllegalStateException(failure + ": the GPU state it belongs to was not resumed."));
                    return;
                }
                long t = System.nanoTime();
                move.mapAndFill(dir);
                long ms = (System.nanoTime() - t) / 1_000_000;
                r.record(timing, ms);
                LOG.info("Device memory mapped again at its addresses and filled from {}: {} in {} ms ({})", dir,
                        CheckpointSequence.megabytes(move.bytes()), ms, CheckpointSequence.rate(move.bytes(), ms));
            } catch (IOException | RuntimeException e) {
                r.failed(new IllegalStateException(failure + ": " + e.getMessage() + ". This process's device memory"
                        + " is lost: stop it and start the app cold (bin/cryo run --cold); the image may be damaged"
                        + " (delete it).", e));
            } finally {
                move.end();
            }
        }
    }

    @Override
    public String name() {
        return "deviceMemoryOut";
    }

    @Override
    public Moved run() throws CheckpointException {
        DeviceMemoryRegistry.Move move = DeviceMemoryRegistry.Move.begin();
        if (move.isEmpty()) {
            move.end();
            return new Moved(move, tmp);
        }
        long t = System.nanoTime();
        try {
            move.copyOutAndRelease(tmp);
        } catch (IOException | RuntimeException e) {
            move.end();
            throw e instanceof IOException io && Failures.isNoSpace(io) ? failures.noSpace(io)
                    : failures.of(Reason.GPU, "Could not copy the device memory into the image: " + e
                            + ". No snapshot was taken; the app goes on with its device memory intact.", e);
        }
        long ms = (System.nanoTime() - t) / 1_000_000;
        LOG.info("Device memory copied into the image and released: {} in {} ms ({})",
                CheckpointSequence.megabytes(move.bytes()), ms, CheckpointSequence.rate(move.bytes(), ms));
        return new Moved(move, tmp);
    }
}
