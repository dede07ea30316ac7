package dev.cryo;

/**
 * The checkpoint did not happen. The process goes on as before: every resource notified before
 * the failure got {@link Resource#afterRestore}, the GPU state is back, and no snapshot was left
 * behind. The message says what happened and what to do; failures of several resources are
 * attached as {@linkplain #getSuppressed() suppressed} exceptions.
 */
public final class CheckpointException extends Exception {
    private static final long serialVersionUID = 1L;

    /** What stopped the checkpoint. */
    public enum Reason {
        /** A resource's {@code beforeCheckpoint} threw. */
        RESOURCE_FAILED,
        /** CRIU or libcriu is missing, too old, or cannot run on this kernel. */
        CRIU_UNAVAILABLE,
        /** The process lacks the privileges CRIU needs (root or CAP_CHECKPOINT_RESTORE). */
        NOT_PERMITTED,
        /** The image directory cannot be created or written. */
        IMAGE_DIRECTORY,
        /** Not enough free space for the snapshot. */
        NO_SPACE,
        /** The GPU state could not be checkpointed. */
        GPU,
        /** CRIU ran and failed to dump the process. */
        DUMP_FAILED,
        /**
         * The dump took longer than its limit ({@code CheckpointOptions.dumpTimeout}), and CRIU was
         * ended from outside the process, which let the process go on.
         */
        DUMP_TIMEOUT,
        /** A file to keep in the image ({@code CheckpointOptions.storeFiles}) cannot be stored. */
        STORED_FILE,
        /** Another checkpoint is running in this process. */
        IN_PROGRESS
    }

    /** What stopped the checkpoint. */
    private final Reason reason;

    CheckpointException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    /** What stopped the checkpoint. */
    public Reason reason() {
        return reason;
    }
}
