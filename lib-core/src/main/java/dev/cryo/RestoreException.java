package dev.cryo;

/**
 * The snapshot was taken (or this process was restored from one), but bringing the process back
 * was not complete: one or more {@link Resource#afterRestore} callbacks failed, or the GPU state
 * could not be restored. Each failure is attached as a {@linkplain #getSuppressed() suppressed}
 * exception; {@link #outcome()} says what happened otherwise.
 */
public final class RestoreException extends Exception {
    private static final long serialVersionUID = 1L;

    private final transient CheckpointOutcome outcome;

    RestoreException(String message, CheckpointOutcome outcome, Throwable cause) {
        super(message, cause);
        this.outcome = outcome;
    }

    /** What {@code checkpointNow()} did apart from the failed callbacks. */
    public CheckpointOutcome outcome() {
        return outcome;
    }
}
