package dev.cryo.internal.checkpoint;

import dev.cryo.CheckpointException;
import dev.cryo.CheckpointOutcome;
import dev.cryo.Gpu;
import dev.cryo.Resource;
import dev.cryo.RestoreException;
import dev.cryo.internal.ResourceChain;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What the checkpoint sequence needs from the API package {@code dev.cryo}: the results only that
 * package may construct (their constructors are not public, so that apps cannot make them), and
 * its registries. Public only so that {@code dev.cryo.Checkpointer} can hand an implementation to
 * {@link CheckpointSequence}; not part of the API (the package is not exported).
 */
public interface ApiAccess {
    /** A failed checkpoint. */
    CheckpointException checkpointFailure(CheckpointException.Reason reason, String message, Throwable cause);

    /** A snapshot taken (or restored from) whose way back failed; the failures are added as suppressed. */
    RestoreException restoreFailure(String message, CheckpointOutcome outcome);

    /** What {@code checkpointNow()} returns. */
    CheckpointOutcome outcome(CheckpointOutcome.Kind kind, Path image, String imageId, String reason, Duration pause);

    /** The registered resources. */
    ResourceChain<Resource, CheckpointOutcome> resources();

    /** Reads the GPU list again and caches it; returns it. */
    List<Gpu> refreshGpus();

    /** Runs every registered device cache's refresh; returns the failures. */
    List<Exception> refreshDeviceCaches(List<Gpu> now);
}
