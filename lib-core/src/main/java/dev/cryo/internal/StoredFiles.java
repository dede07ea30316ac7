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
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Files the app asked to keep inside its image ({@code CheckpointOptions.storeFiles}): CRIU does
 * not save file contents, so a restore breaks, or the app reads other data, when such a file
 * changed after the checkpoint. Copied into the image as {@code stored-<n>} with
 * {@code stored.<n>.*} metadata; the launcher puts each back, where it differs, before restoring.
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

    /** Copies {@code paths} into the image directory {@code tmp}; returns their metadata. */
    public static Map<String, String> store(List<Path> paths, Path tmp) throws IOException {
        Map<String, String> m = new LinkedHashMap<>();
        int n = 0;
        for (Path p : new LinkedHashSet<>(paths)) {
            Path copy = tmp.resolve("stored-" + n);
            Files.copy(p, copy, StandardCopyOption.COPY_ATTRIBUTES);
            m.put("stored." + n + ".path", p.toString());
            m.put("stored." + n + ".size", Long.toString(Files.size(copy)));
            m.put("stored." + n + ".modified", Long.toString(Files.getLastModifiedTime(p).toMillis()));
            m.put("stored." + n + ".mode", PosixFilePermissions.toString(Files.getPosixFilePermissions(p)));
            n++;
        }
        return m;
    }

    /** The paths an image stores. */
    public static Set<String> paths(Map<String, String> metadata) {
        Set<String> paths = new LinkedHashSet<>();
        for (int n = 0; metadata.containsKey("stored." + n + ".path"); n++) {
            paths.add(metadata.get("stored." + n + ".path"));
        }
        return paths;
    }

    /**
     * Puts each stored file back where it differs from the copy (size or modification time),
     * atomically: the copy is written beside the target and renamed over it, with its mode and
     * modification time. Returns the paths put back.
     */
    public static List<String> putBack(Map<String, String> metadata, Path imageDir) throws IOException {
        List<String> restored = new ArrayList<>();
        for (int n = 0; metadata.containsKey("stored." + n + ".path"); n++) {
            Path target = Path.of(metadata.get("stored." + n + ".path"));
            long size = Long.parseLong(metadata.get("stored." + n + ".size"));
            FileTime modified = FileTime.fromMillis(Long.parseLong(metadata.get("stored." + n + ".modified")));
            if (Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS) && Files.size(target) == size
                    && Files.getLastModifiedTime(target).toMillis() == modified.toMillis()) {
                continue;
            }
            Files.createDirectories(target.getParent());
            Path part = target.resolveSibling("." + target.getFileName() + ".cryo-" + ProcessHandle.current().pid());
            try {
                Files.copy(imageDir.resolve("stored-" + n), part, StandardCopyOption.REPLACE_EXISTING);
                Set<PosixFilePermission> mode = PosixFilePermissions.fromString(metadata.get("stored." + n + ".mode"));
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
