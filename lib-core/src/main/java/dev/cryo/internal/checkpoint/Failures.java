package dev.cryo.internal.checkpoint;

import dev.cryo.CheckpointException;
import dev.cryo.CheckpointException.Reason;
import dev.cryo.internal.criu.CriuException;
import dev.cryo.internal.criu.CriuVersion;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

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
                + e.getMessage() + "\n" + where + " " + dumpFailureCauses(e), e);
    }

    /** The usual causes, as they are for the CRIU in use: before 4.2 it cannot dump any TCP socket on new kernels. */
    private static String dumpFailureCauses(CriuException e) {
        int version = CriuAccess.version();
        boolean oldCriu = version > 0 && version < CriuAccess.TCP_SOCKETS_VERSION;
        if (oldCriu || e.logTail().stream().anyMatch(l -> l.contains("Can't get 1:16 opt"))) {
            return "CRIU " + CriuVersion.format(version) + " (older than 4.2) cannot dump any TCP socket on"
                    + " kernels 6.16 and newer, listening ones included (\"Can't get 1:16 opt\"): close them in a"
                    + " Resource's beforeCheckpoint and open them again in afterRestore, or update CRIU to 4.2 or"
                    + " newer (bin/bootstrap installs it). Other common causes: unix sockets to other processes"
                    + " (externalUnixSockets(true)), open files that were deleted (ghostLimitBytes).";
        }
        return "Common causes: established TCP connections (close them in a Resource, or tcpEstablished(true);"
                + " listening sockets are fine with CRIU " + CriuVersion.format(version) + "), unix sockets to"
                + " other processes (externalUnixSockets(true)), open files that were deleted (ghostLimitBytes).";
    }

    /** The dump outlived its limit and the watcher ended CRIU (pid {@code criuPid}). */
    CheckpointException dumpTimeout(CriuException e, Duration limit, int criuPid, Path keptLog) {
        long seconds = Math.max(1, Math.round(limit.toMillis() / 1000.0));
        return of(Reason.DUMP_TIMEOUT, "The dump took longer than its limit of " + seconds
                + " s, so Cryo's watcher ended CRIU (pid " + criuPid + "), which let this process go on; no snapshot"
                + " was kept. CRIU's log, up to where it stopped: " + (keptLog != null ? keptLog : "not kept") + "."
                + " If the dump is slow rather than stuck (a large process, a slow disk), raise the limit:"
                + " CheckpointOptions.dumpTimeout, -D" + DumpStep.TIMEOUT_PROPERTY + "=SECONDS, or bin/cryo run"
                + " --dump-timeout SECONDS (default: 10 s per GB of resident memory, at least 60 s). If it hangs"
                + " whatever the limit, this CRIU may not know this kernel: update it (bin/bootstrap installs CRIU"
                + " 4.2). (" + e.function() + " returned " + e.code() + ", " + e.codeName() + ".)"
                + (e.logTail().isEmpty() ? "" : " The last lines of CRIU's log:\n    " + String.join("\n    ", e.logTail())),
                e);
    }

    static boolean isNoSpace(IOException e) {
        return String.valueOf(e.getMessage()).contains("No space left on device");
    }
}
