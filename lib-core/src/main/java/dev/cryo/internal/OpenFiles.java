package dev.cryo.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The regular files this process holds open, as CRIU will record them. CRIU reopens each by path
 * at restore and refuses when its size differs from the checkpoint's (except files opened
 * write-only for appending, such as logs): a restore breaks when such a file changed meanwhile.
 * Recorded in the image as {@code openFile.<n>.*} so that the launcher can tell before restoring.
 */
public final class OpenFiles {
    private static final int O_ACCMODE = 3;
    private static final int O_WRONLY = 1;
    private static final int O_APPEND = 02000;

    /**
     * One open file.
     *
     * @param fd         the descriptor
     * @param path       the path it was opened by
     * @param flags      its open flags
     * @param size       the size of the open file now
     * @param modified   its modification time, epoch milliseconds
     * @param sameAsPath false when the path now names another file (replaced by a rename, say)
     */
    public record OpenFile(int fd, Path path, int flags, long size, long modified, boolean sameAsPath) {
        /** Whether CRIU checks its size at restore: all but write-only appending files. */
        public boolean sizeChecked() {
            return !((flags & O_ACCMODE) == O_WRONLY && (flags & O_APPEND) != 0);
        }

        /** Whether it was opened for writing. */
        public boolean writable() {
            return (flags & O_ACCMODE) != 0;
        }
    }

    private OpenFiles() {}

    /** The regular files open now, outside /proc and /dev and not deleted; stdio included. */
    public static List<OpenFile> current() {
        return of(links());
    }

    /** This process's descriptors ({@code /proc/self/fd/N}) and what each points to, read once. */
    public static Map<Path, String> links() {
        Map<Path, String> fds = new LinkedHashMap<>();
        try (var dir = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path fd : dir) {
                try {
                    fds.put(fd, Files.readSymbolicLink(fd).toString());
                } catch (IOException e) {
                    // closed meanwhile (the directory stream's own descriptor, say)
                }
            }
        } catch (IOException e) {
            // /proc unreadable: nothing known
        }
        return fds;
    }

    /** The regular files among {@code links} ({@link #links()}), as {@link #current()} lists them. */
    public static List<OpenFile> of(Map<Path, String> links) {
        List<OpenFile> files = new ArrayList<>();
        for (Map.Entry<Path, String> link : links.entrySet()) {
            Path fd = link.getKey();
            String target = link.getValue();
            if (!target.startsWith("/") || target.startsWith("/proc/") || target.startsWith("/dev/")
                    || target.endsWith(" (deleted)")) {
                continue;
            }
            try {
                // Through the /proc link: the open file itself, even if its path now names another.
                BasicFileAttributes open = Files.readAttributes(fd, BasicFileAttributes.class);
                if (!open.isRegularFile()) {
                    continue;
                }
                Path path = Path.of(target);
                boolean same;
                try {
                    Object now = Files.readAttributes(path, BasicFileAttributes.class).fileKey();
                    same = now != null && now.equals(open.fileKey());
                } catch (IOException e) {
                    same = false;
                }
                int number = Integer.parseInt(fd.getFileName().toString());
                files.add(new OpenFile(number, path, flags(number), open.size(), open.lastModifiedTime().toMillis(),
                        same));
            } catch (IOException | RuntimeException e) {
                // closed meanwhile
            }
        }
        return files;
    }

    private static int flags(int fd) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd))) {
                if (line.startsWith("flags:")) {
                    return Integer.parseInt(line.substring(6).trim(), 8);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // unknown: treated as read-only
        }
        return 0;
    }

    /**
     * A file the image had open, as recorded in its metadata.
     *
     * @param path     its path
     * @param size     its size at checkpoint
     * @param modified its modification time at checkpoint, epoch milliseconds
     */
    public record Recorded(String path, long size, long modified) {}

    /**
     * What the image records of {@code files}: those whose size CRIU checks, one path once.
     * Standard input and output are left out: the launcher hands the restored process its own
     * (CRIU inherit-fd).
     */
    public static List<Recorded> describe(List<OpenFile> files) {
        List<Recorded> out = new ArrayList<>();
        Set<Path> seen = new java.util.HashSet<>();
        files.stream().filter(f -> f.fd() <= 2).forEach(f -> seen.add(f.path()));
        for (OpenFile f : files) {
            if (f.fd() > 2 && f.sizeChecked() && f.sameAsPath() && seen.add(f.path())) {
                out.add(new Recorded(f.path().toString(), f.size(), f.modified()));
            }
        }
        return out;
    }

    /**
     * Why a restore of an image that had {@code files} open would fail on this machine's files
     * now: a file is gone or has another size. Files the image stores are not checked (the
     * launcher puts them back first).
     */
    public static Optional<String> misfit(List<Recorded> files, Set<String> stored) {
        for (Recorded f : files) {
            String path = f.path();
            if (stored.contains(path)) {
                continue;
            }
            Path p = Path.of(path);
            if (!Files.isRegularFile(p)) {
                return Optional.of("the app had " + path + " open at checkpoint and it is gone now: CRIU cannot"
                        + " reopen it. Put it back, or store it in the image (CheckpointOptions.storeFiles)");
            }
            try {
                long now = Files.size(p);
                if (now != f.size()) {
                    return Optional.of("the app had " + path + " open at checkpoint with " + f.size() + " bytes; it has "
                            + now + " now, and CRIU refuses a file that changed size. Put the old version back,"
                            + " or store it in the image (CheckpointOptions.storeFiles)");
                }
            } catch (IOException e) {
                return Optional.of("cannot read " + path + ", which the app had open at checkpoint: " + e);
            }
        }
        return Optional.empty();
    }

    /** Files the image had open that changed since the checkpoint but kept their size. */
    public static List<String> changedSameSize(List<Recorded> files, Set<String> stored) {
        List<String> changed = new ArrayList<>();
        for (Recorded f : files) {
            try {
                long modified = Files.getLastModifiedTime(Path.of(f.path())).toMillis();
                if (!stored.contains(f.path()) && modified != f.modified()) {
                    changed.add(f.path());
                }
            } catch (IOException | RuntimeException e) {
                // misfit() reports files that are gone
            }
        }
        return changed;
    }
}
