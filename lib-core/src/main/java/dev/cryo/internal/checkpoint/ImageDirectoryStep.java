package dev.cryo.internal.checkpoint;

import dev.cryo.CheckpointException;
import dev.cryo.internal.ImageStore;
import java.io.IOException;
import java.nio.file.Path;

/** Creates the temporary directory of a new image; undone by removing it (CRIU's log is kept). */
record ImageDirectoryStep(ImageStore store, Failures failures) implements Step<ImageDirectoryStep.ImageDirectory> {

    /** The new image's id and its temporary directory. */
    record ImageDirectory(ImageStore store, String id, Path tmp) implements Done {
        @Override
        public void undo(Resumption r) {
            store.abort(tmp, DumpStep.LOG_NAME);
        }
    }

    @Override
    public String name() {
        return "imageDirectory";
    }

    @Override
    public ImageDirectory run() throws CheckpointException {
        String id = ImageStore.newId();
        try {
            return new ImageDirectory(store, id, store.begin(id));
        } catch (IOException e) {
            throw failures.imageDirectory(e);
        }
    }
}
