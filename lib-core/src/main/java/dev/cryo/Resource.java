package dev.cryo;

/**
 * Something the app holds that must be prepared for a checkpoint and brought back after it: a
 * socket to close and reopen, a random generator to reseed, a cached device count to refresh.
 * Registered with {@link Checkpointer#register(Resource)}; the order of calls is in
 * {@link dev.cryo the package documentation}.
 */
public interface Resource {

    /**
     * Called before the snapshot is taken. Throwing stops the checkpoint: no snapshot is written,
     * and the resources already notified get {@link #afterRestore} to undo what they did.
     *
     * @throws Exception when this resource cannot be checkpointed now
     */
    void beforeCheckpoint() throws Exception;

    /**
     * Called after the snapshot, in whichever process goes on: the original (when it keeps
     * running after the checkpoint, or when the checkpoint failed) and every copy restored from
     * the image. {@code outcome.isRestored()} tells them apart.
     *
     * @param outcome what happened to this process
     * @throws Exception when this resource could not be brought back; the caller of
     *     {@link Checkpointer#checkpointNow()} gets it inside a {@link RestoreException}
     */
    void afterRestore(CheckpointOutcome outcome) throws Exception;
}
