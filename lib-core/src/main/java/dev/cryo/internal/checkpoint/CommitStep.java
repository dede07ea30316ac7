package dev.cryo.internal.checkpoint;

import dev.cryo.CheckpointException;
import dev.cryo.internal.ImageMetadata;
import dev.cryo.internal.ImageStore;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Makes the image final: its metadata written last, then one rename ({@link ImageStore#commit}).
 * The last step: nothing after it can fail and need it undone.
 */
record CommitStep(ImageStore store, Path tmp, ImageMetadata metadata, Failures failures)
        implements Step<CommitStep.Committed> {

    /** @param image the image's final directory */
    record Committed(Path image) implements Done {}

    @Override
    public String name() {
        return "commit";
    }

    @Override
    public Committed run() throws CheckpointException {
        try {
            return new Committed(store.commit(tmp, metadata));
        } catch (IOException e) {
            throw failures.imageDirectory(e);
        }
    }
}
