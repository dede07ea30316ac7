package dev.cryo.internal.checkpoint;

import dev.cryo.CheckpointException;
import dev.cryo.CheckpointException.Reason;
import dev.cryo.internal.criu.CriuException;
import java.io.IOException;
import java.nio.file.Path;

/** The checkpoint's failures that more than one step reports, worded once, for one image store. */
final class Failures {
    private final ApiAccess api;
    private final Path store;

    Failures(ApiAccess api, Path store) {
        this.api = api;
        this.store = store;
    }

    CheckpointException of(Reason reason, String message, Throwable cause) {
        return api.checkpointFailure(reason, message, cause);
    }

    CheckpointException imageDirectory(IOException e) {
        if (isNoSpace(e)) {
            return noSpace(e);
        }
        return of(Reason.IMAGE_DIRECTORY, "Cannot write the snapshot to " + store + ": " + e + ". Choose a writable"
                + " directory (option imageDirectory, -Dcryo.image.dir, CRYO_IMAGE_DIR, or bin/cryo --image).", e);
    }

    CheckpointException noSpace(IOException e) {
        return of(Reason.NO_SPACE, "The disk under " + store + " is full: " + e
                + ". Free space or choose another image directory.", e);
    }

    CheckpointException dump(CriuException e, Path keptLog) {
        String where = keptLog != null ? " CRIU's full log: " + keptLog + "." : "";
        if (e.isNoSpace()) {
            return of(Reason.NO_SPACE, "The disk under " + store + " ran full while CRIU wrote the snapshot; nothing"
                    + " was kept. Free space or choose another image directory." + where + " " + e.getMessage(), e);
        }
        return of(Reason.DUMP_FAILED, "CRIU could not dump this process; no snapshot was kept and the app goes on. "
                + e.getMessage() + "\n" + where
                + " Common causes: established TCP connections (close them in a Resource, or tcpEstablished(true)),"
                + " unix sockets to other processes (externalUnixSockets(true)), open files that were deleted"
                + " (ghostLimitBytes).", e);
    }

    static boolean isNoSpace(IOException e) {
        return String.valueOf(e.getMessage()).contains("No space left on device");
    }
}
