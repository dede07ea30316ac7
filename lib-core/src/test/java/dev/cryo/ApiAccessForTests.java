package dev.cryo;

import dev.cryo.internal.ResourceChain;
import dev.cryo.internal.checkpoint.ApiAccess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** An {@link ApiAccess} for unit tests of the checkpoint sequence: real API objects, no registry. */
public final class ApiAccessForTests implements ApiAccess {
    private final ResourceChain<Resource, CheckpointOutcome> resources =
            ResourceChain.of(Resource::beforeCheckpoint, Resource::afterRestore);

    public ApiAccessForTests() {}

    @Override
    public CheckpointException checkpointFailure(CheckpointException.Reason reason, String message, Throwable cause) {
        return new CheckpointException(reason, message, cause);
    }

    @Override
    public RestoreException restoreFailure(String message, CheckpointOutcome outcome) {
        return new RestoreException(message, outcome, null);
    }

    @Override
    public CheckpointOutcome outcome(CheckpointOutcome.Kind kind, Path image, String imageId, String reason,
            Duration pause) {
        return new CheckpointOutcome(kind, image, imageId, reason, pause);
    }

    @Override
    public ResourceChain<Resource, CheckpointOutcome> resources() {
        return resources;
    }

    @Override
    public List<Gpu> refreshGpus() {
        return List.of();
    }

    @Override
    public List<Exception> refreshDeviceCaches(List<Gpu> now) {
        return List.of();
    }
}
