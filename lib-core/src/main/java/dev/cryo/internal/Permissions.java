package dev.cryo.internal;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
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
