package dev.cryo.internal;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.Set;

/** A snapshot holds every secret the process had: its files are the owner's alone. */
final class Permissions {
    static final Set<PosixFilePermission> DIR = PosixFilePermissions.fromString("rwx------");
    static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");

    private Permissions() {}

    static void ownerOnlyFile(Path file) throws IOException {
        Files.setPosixFilePermissions(file, FILE);
    }

    static void ownerOnlyDirectory(Path dir) throws IOException {
        Files.setPosixFilePermissions(dir, DIR);
    }

    /**
     * Why {@code path} (a directory when {@code directory}, else a regular file) must not be
     * trusted, or empty when it may: what Cryo reads as the user running it must be that user's
     * alone: not a symbolic link (which could lead anywhere), owned by that user, and not writable
     * by group or others. {@code what} names it in the reason.
     */
    static Optional<String> notOwnersAlone(Path path, String what, boolean directory) {
        try {
            PosixFileAttributes a = Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (a.isSymbolicLink()) {
                return Optional.of("the " + what + " " + path + " is a symbolic link (to " + Files.readSymbolicLink(path)
                        + "); use the " + (directory ? "directory" : "file") + " itself");
            }
            if (directory ? !a.isDirectory() : !a.isRegularFile()) {
                return Optional.of("the " + what + " " + path + " is not a " + (directory ? "directory" : "regular file"));
            }
            int owner = (Integer) Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS);
            int me = ProcessFacts.effectiveUid();
            if (owner != me) {
                return Optional.of("the " + what + " " + path + " is owned by uid " + owner + " (" + a.owner().getName()
                        + "), not by uid " + me + " who runs Cryo; chown it, or use a " + (directory ? "directory" : "file")
                        + " of your own");
            }
            Set<PosixFilePermission> mode = a.permissions();
            if (mode.contains(PosixFilePermission.GROUP_WRITE) || mode.contains(PosixFilePermission.OTHERS_WRITE)) {
                return Optional.of("the " + what + " " + path + " is writable by " + (mode.contains(
                        PosixFilePermission.OTHERS_WRITE) ? "others" : "its group") + " ("
                        + PosixFilePermissions.toString(mode) + "); chmod " + (directory ? "700" : "600") + " it");
            }
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.of("the " + what + " " + path + " cannot be examined: " + e);
        }
    }

    /** Sets 0700 on every directory and 0600 on every file under {@code root}. */
    static void ownerOnlyTree(Path root) throws IOException {
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                ownerOnlyDirectory(dir);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                if (attrs.isRegularFile()) {
                    ownerOnlyFile(file);
                }
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
