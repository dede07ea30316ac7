package dev.cryo;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * What {@link Checkpointer#checkpointNow()} did, as seen by the process it returns in.
 */
public final class CheckpointOutcome {

    /** The three ways {@code checkpointNow()} returns. */
    public enum Kind {
        /** A snapshot was written and this is the original process, still running. */
        CHECKPOINTED,
        /** This process was restored from a snapshot. */
        RESTORED,
        /** No snapshot was taken, for the reason in {@link #reason()}; nothing changed. */
        SKIPPED
    }

    private final Kind kind;
    private final Path image;
    private final String imageId;
    private final String reason;
    private final Duration pause;

    CheckpointOutcome(Kind kind, Path image, String imageId, String reason, Duration pause) {
        this.kind = Objects.requireNonNull(kind);
        this.image = image;
        this.imageId = imageId;
        this.reason = reason;
        this.pause = pause;
    }

    /** How {@code checkpointNow()} returned. */
    public Kind kind() {
        return kind;
    }

    /** True in a process restored from a snapshot. */
    public boolean isRestored() {
        return kind == Kind.RESTORED;
    }

    /** The snapshot's directory, when one was written or restored from. */
    public Optional<Path> image() {
        return Optional.ofNullable(image);
    }

    /** The snapshot's id (unique per snapshot, also in its metadata and the restore log line). */
    public Optional<String> imageId() {
        return Optional.ofNullable(imageId);
    }

    /** Why the checkpoint was skipped; empty unless {@link Kind#SKIPPED}. */
    public Optional<String> reason() {
        return Optional.ofNullable(reason);
    }

    /**
     * How long the app was paused inside {@code checkpointNow()}: callbacks, GPU and CRIU steps,
     * in the original process; zero in a restored one (its restore time is measured by the launcher).
     */
    public Duration pause() {
        return pause;
    }

    @Override
    public String toString() {
        return "CheckpointOutcome[" + kind + (imageId != null ? ", image " + imageId : "")
                + (image != null ? " at " + image : "") + (reason != null ? ", " + reason : "") + "]";
    }
}
