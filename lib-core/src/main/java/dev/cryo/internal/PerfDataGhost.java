package dev.cryo.internal;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The JVM's perf-data file (/tmp/hsperfdata_USER/PID) goes into an image as a CRIU ghost file: the
 * checkpoint moves it aside to {@code /tmp/.cryo-hsperfdata-PID} and unlinks it, and CRIU's restore
 * recreates it beside that last path as {@code .cryo-hsperfdata-PID.cr.N.ghost} until the process
 * is back. A restore that is killed (its time limit, a signal) leaves that file behind, and the next
 * restore of any image whose process had the same PID then fails with CRIU's "Can't create ghost
 * regfile: File exists". PIDs wrap (pid_max is 32768 on many machines), so such a leftover is met
 * sooner or later: the launcher removes it before restoring, while the PID is free.
 */
public final class PerfDataGhost {
    private static final String PREFIX = ".cryo-hsperfdata-";

    private PerfDataGhost() {}

    /** Where the checkpoint moves {@code perfDataFile} before unlinking it. */
    public static Path aside(Path perfDataFile) {
        return perfDataFile.getParent().resolveSibling(PREFIX + perfDataFile.getFileName());
    }

    /**
     * Removes ghost files that a killed restore of a process with {@code pid} left in {@code dir}
     * (the perf-data directory's parent), unless a process with that PID runs (then it may be a
     * restore in progress, which fails on the PID anyway). Returns the files removed.
     */
    public static List<Path> removeLeftovers(Path dir, long pid) {
        List<Path> removed = new ArrayList<>();
        if (ProcessHandle.of(pid).isPresent()) {
            return removed;
        }
        try (DirectoryStream<Path> ghosts = Files.newDirectoryStream(dir, PREFIX + pid + ".cr.*.ghost")) {
            for (Path ghost : ghosts) {
                if (Files.isRegularFile(ghost, java.nio.file.LinkOption.NOFOLLOW_LINKS) && Files.deleteIfExists(ghost)) {
                    removed.add(ghost);
                }
            }
        } catch (IOException e) {
            // none there, or not ours to remove: CRIU's error names the file if it matters
        }
        return removed;
    }

    /** The directory the JVM keeps perf-data directories in, whose parent holds the ghosts. */
    public static Path directory() {
        return Path.of("/tmp");
    }
}
