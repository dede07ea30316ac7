package dev.cryo;

import dev.cryo.internal.ResourceChain;

/**
 * The entry point: an app calls {@link #checkpointNow()} once its start-up is done. The first run
 * writes a snapshot of the whole process and carries on; a start that {@code bin/cryo} restores
 * from that snapshot returns from the same call, told that it was restored. The full contract is
 * in {@link dev.cryo the package documentation}.
 */
public final class Checkpointer {
    static final ResourceChain<Resource, CheckpointOutcome> RESOURCES =
            ResourceChain.of(Resource::beforeCheckpoint, Resource::afterRestore);

    private Checkpointer() {}

    /**
     * Registers a resource to be notified around every checkpoint. Resources are held strongly
     * (unlike org.crac's global context) so that a lambda or anonymous class stays registered.
     *
     * @param resource the resource
     */
    public static void register(Resource resource) {
        RESOURCES.register(java.util.Objects.requireNonNull(resource, "resource"));
    }

    /**
     * Checkpoints this process with the {@linkplain CheckpointOptions#defaults() default options}.
     *
     * @return {@code CHECKPOINTED} in the original process, {@code RESTORED} in a restored one
     * @throws CheckpointException when no snapshot was taken; the process goes on unchanged
     * @throws RestoreException when the snapshot was taken but a resource failed to come back
     */
    public static CheckpointOutcome checkpointNow() throws CheckpointException, RestoreException {
        return checkpointNow(CheckpointOptions.defaults());
    }

    /**
     * Checkpoints this process: notifies the resources, suspends the GPU state if the process has
     * any, dumps the process with CRIU into a new image, then resumes in whichever process goes on.
     *
     * @param options how to take the snapshot
     * @return {@code CHECKPOINTED} in the original process, {@code RESTORED} in a restored one
     * @throws CheckpointException when no snapshot was taken; the process goes on unchanged
     * @throws RestoreException when the snapshot was taken but a resource failed to come back
     */
    public static CheckpointOutcome checkpointNow(CheckpointOptions options)
            throws CheckpointException, RestoreException {
        return new CheckpointRun(java.util.Objects.requireNonNull(options, "options")).run();
    }
}
