package dev.cryo.internal.checkpoint;

import dev.cryo.CheckpointException;
import dev.cryo.CheckpointException.Reason;
import dev.cryo.internal.StoredFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Copies the files to keep ({@code storeFiles}) into the image; they go with its directory. */
record StoredFilesStep(List<Path> paths, Path tmp, Failures failures) implements Step<StoredFilesStep.Stored> {

    /** @param files what was stored, in order */
    record Stored(List<StoredFiles.Stored> files) implements Done {}

    @Override
    public String name() {
        return "storedFiles";
    }

    @Override
    public Stored run() throws CheckpointException {
        try {
            return new Stored(StoredFiles.store(paths, tmp));
        } catch (IOException e) {
            throw Failures.isNoSpace(e) ? failures.noSpace(e) : failures.of(Reason.STORED_FILE,
                    "Could not copy the files to keep into the image (storeFiles): " + e + ". No snapshot was taken.", e);
        }
    }
}
