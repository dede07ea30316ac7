package dev.cryo.internal.checkpoint;

import dev.cryo.CheckpointException;
import dev.cryo.internal.ImageStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Claims the right to checkpoint this build into the store ({@link ImageStore#claim}). Only the
 * original process gives the claim back: a restored copy has the same pid, and the file may by
 * then be another process's claim.
 */
record ClaimStep(ImageStore store, String buildKey, Failures failures) implements Step<ClaimStep.Claim> {

    /** The claim file, or empty when another live process holds it ({@code holder}). */
    record Claim(Optional<Path> file, String holder) implements Done {
        @Override
        public void undo(Resumption r) {
            file.ifPresent(ImageStore::release);
        }

        @Override
        public void afterDump(Resumption r) {
            file.ifPresent(ImageStore::release);
        }
    }

    @Override
    public String name() {
        return "claim";
    }

    @Override
    public Claim run() throws CheckpointException {
        try {
            Optional<Path> file = store.claim(buildKey);
            return new Claim(file, file.isPresent() ? null : store.claimHolder(buildKey));
        } catch (IOException e) {
            throw failures.imageDirectory(e);
        }
    }
}
