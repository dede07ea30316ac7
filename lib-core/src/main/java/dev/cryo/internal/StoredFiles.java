package dev.cryo.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Files the app asked to keep inside its image ({@code CheckpointOptions.storeFiles}): CRIU does
 * not save file contents, so a restore breaks, or the app reads other data, when such a file
 * changed after the checkpoint. Copied into the image as {@code stored-<n>} with
 * its entry in the image metadata; the launcher puts each back, where it differs, before restoring.
 */
public final class StoredFiles {
    private StoredFiles() {}

    /** Why {@code path} cannot be stored, or null when it can. */
    public static String unfit(Path path) {
        if (!path.isAbsolute()) {
            return path + " is not an absolute path";
        }
        if (!Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
            return path + " is not a regular file (directories, links and devices cannot be stored)";
        }
        if (!Files.isReadable(path)) {
            return path + " is not readable";
        }
        return null;
    }

    /**
     * A file kept in the image, as {@code stored-<n>} where n is its place in the image's list.
     *
     * @param path     where it belongs
     * @param size     its size at checkpoint
     * @param modified its modification time, epoch milliseconds
     * @param mode     its permissions, as {@code rw-r--r--}
     */
    public record Stored(String path, long size, long modified, String mode) {}

    /** Copies {@code paths} into the image directory {@code tmp}; returns what it stored, in order. */
    public static List<Stored> store(List<Path> paths, Path tmp) throws IOException {
        List<Stored> out = new ArrayList<>();
        for (Path p : new LinkedHashSet<>(paths)) {
            Path copy = tmp.resolve("stored-" + out.size());
            Files.copy(p, copy, StandardCopyOption.COPY_ATTRIBUTES);
            out.add(new Stored(p.toString(), Files.size(copy), Files.getLastModifiedTime(p).toMillis(),
                    PosixFilePermissions.toString(Files.getPosixFilePermissions(p))));
        }
        return out;
    }

    /** The paths of {@code stored}. */
    public static Set<String> paths(List<Stored> stored) {
        Set<String> paths = new LinkedHashSet<>();
        stored.forEach(s -> paths.add(s.path()));
        return paths;
    }

    /**
     * Puts each stored file back where it differs from the copy (size or modification time),
     * atomically: the copy is written beside the target and renamed over it, with its mode and
     * modification time. Returns the paths put back.
     */
    public static List<String> putBack(List<Stored> stored, Path imageDir) throws IOException {
        List<String> restored = new ArrayList<>();
        for (int n = 0; n < stored.size(); n++) {
            Stored s = stored.get(n);
            Path target = Path.of(s.path());
            FileTime modified = FileTime.fromMillis(s.modified());
            if (Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS) && Files.size(target) == s.size()
                    && Files.getLastModifiedTime(target).toMillis() == modified.toMillis()) {
                continue;
            }
            Files.createDirectories(target.getParent());
            Path part = target.resolveSibling("." + target.getFileName() + ".cryo-" + ProcessHandle.current().pid());
            try {
                Files.copy(imageDir.resolve("stored-" + n), part, StandardCopyOption.REPLACE_EXISTING);
                Set<PosixFilePermission> mode = PosixFilePermissions.fromString(s.mode());
                Files.setPosixFilePermissions(part, mode);
                Files.setLastModifiedTime(part, modified);
                Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(part);
            }
            restored.add(target.toString());
        }
        return restored;
    }
}
