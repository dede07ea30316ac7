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
import java.util.Optional;
import java.util.Set;

/**
 * Files the app asked to keep inside its image ({@code CheckpointOptions.storeFiles}): CRIU does
 * not save file contents, so a restore breaks, or the app reads other data, when such a file
 * changed after the checkpoint. Copied into the image (see {@link #copyName}) with its entry in the
 * image metadata; the launcher puts each back, where it differs, before restoring, and puts the old
 * content back when the restore fails. Only to the canonical path registered at checkpoint.
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

    /**
     * The name of the copy of {@code path}, n-th in the image's list: {@code stored-<n>-<digest of
     * the path>}, so that a path edited in the metadata no longer names its copy and is refused.
     */
    static String copyName(int n, String path) {
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256")
                    .digest(path.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return "stored-" + n + "-" + java.util.HexFormat.of().formatHex(d, 0, 8);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** Copies {@code paths} into the image directory {@code tmp}; returns what it stored, in order. */
    public static List<Stored> store(List<Path> paths, Path tmp) throws IOException {
        List<Stored> out = new ArrayList<>();
        Set<Path> canonical = new LinkedHashSet<>();
        for (Path p : paths) {
            canonical.add(p.toRealPath()); // the path a restore checks: no links, no "..", absolute
        }
        for (Path p : canonical) {
            Path copy = tmp.resolve(copyName(out.size(), p.toString()));
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
     * Why the files of {@code stored} must not be put back, or empty: a restore writes them as the
     * user running it, so each goes only where it was registered at checkpoint. Its path must be
     * absolute and canonical (no "..", no symbolic link on the way, not a link itself), name its own
     * copy in the image (the copy's name holds a digest of the path, so an edited path is caught),
     * and the copy must have the size the metadata says.
     */
    public static Optional<String> problem(List<Stored> stored, Path imageDir) {
        for (int n = 0; n < stored.size(); n++) {
            String path = stored.get(n).path();
            String why = misplaced(path);
            if (why != null) {
                return Optional.of("its stored file " + n + " (" + path + ") " + why + "; nothing was put back");
            }
            Path copy = imageDir.resolve(copyName(n, path));
            try {
                if (!Files.isRegularFile(copy, LinkOption.NOFOLLOW_LINKS) || Files.size(copy) != stored.get(n).size()) {
                    return Optional.of("its stored file " + n + " (" + path + ") has no copy " + copy.getFileName()
                            + " of " + stored.get(n).size() + " bytes in the image (the metadata was edited, or the"
                            + " copy is damaged); nothing was put back");
                }
            } catch (IOException e) {
                return Optional.of("its stored file " + n + " (" + path + ") cannot be read from the image: " + e);
            }
        }
        return Optional.empty();
    }

    private static String misplaced(String path) {
        Path p;
        try {
            p = Path.of(path);
        } catch (RuntimeException e) {
            return "is not a path";
        }
        if (!p.isAbsolute() || !p.normalize().toString().equals(path) || p.getParent() == null) {
            return "is not an absolute canonical path (\"..\", \".\" or \"//\" in it)";
        }
        if (Files.isSymbolicLink(p)) {
            return "is a symbolic link now";
        }
        if (Files.exists(p, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
            return "is not a regular file now";
        }
        Path existing = p.getParent();
        while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
            existing = existing.getParent();
        }
        try {
            if (existing == null || !existing.toRealPath().equals(existing)) {
                return "leads through a symbolic link (" + existing + ")";
            }
        } catch (IOException e) {
            return "cannot be resolved: " + e;
        }
        return null;
    }

    /**
     * Puts each stored file back where it differs from the copy (size or modification time),
     * atomically: the copy is written beside the target and renamed over it, with its mode and
     * modification time. The old content is kept aside (a hard link beside the target) until
     * {@link PutBack#keep()} or {@link PutBack#revert()}: CRIU needs the files in place before it
     * restores, and a restore that fails must leave them as they were. Checks {@link #problem} first.
     */
    public static PutBack putBack(List<Stored> stored, Path imageDir) throws IOException {
        Optional<String> problem = problem(stored, imageDir);
        if (problem.isPresent()) {
            throw new IOException("the image " + problem.get());
        }
        PutBack done = new PutBack(new ArrayList<>(), new ArrayList<>());
        try {
            for (int n = 0; n < stored.size(); n++) {
                Stored s = stored.get(n);
                Path target = Path.of(s.path());
                FileTime modified = FileTime.fromMillis(s.modified());
                if (Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS) && Files.size(target) == s.size()
                        && Files.getLastModifiedTime(target).toMillis() == modified.toMillis()) {
                    continue;
                }
                Files.createDirectories(target.getParent());
                String pid = Long.toString(ProcessHandle.current().pid());
                Path part = target.resolveSibling("." + target.getFileName() + ".cryo-" + pid);
                Path old = null;
                try {
                    Files.copy(imageDir.resolve(copyName(n, s.path())), part, StandardCopyOption.REPLACE_EXISTING);
                    Set<PosixFilePermission> mode = PosixFilePermissions.fromString(s.mode());
                    Files.setPosixFilePermissions(part, mode);
                    Files.setLastModifiedTime(part, modified);
                    if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                        old = target.resolveSibling("." + target.getFileName() + ".cryo-old-" + pid);
                        Files.deleteIfExists(old);
                        Files.createLink(old, target);
                    }
                    Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (IOException | RuntimeException e) {
                    if (old != null) {
                        Files.deleteIfExists(old);
                    }
                    throw e;
                } finally {
                    Files.deleteIfExists(part);
                }
                done.targets.add(target);
                done.old.add(old);
            }
        } catch (IOException | RuntimeException e) {
            done.revert();
            throw e;
        }
        return done;
    }

    /**
     * The files one {@link #putBack} replaced, with their old content kept aside.
     *
     * @param targets the files put back, in order
     * @param old     for each, its old content beside it, or null where there was no file
     */
    public record PutBack(List<Path> targets, List<Path> old) {
        /** The paths put back. */
        public List<String> paths() {
            return targets.stream().map(Path::toString).toList();
        }

        /** The restore succeeded: the old contents go. */
        public void keep() {
            for (Path o : old) {
                try {
                    if (o != null) {
                        Files.deleteIfExists(o);
                    }
                } catch (IOException e) {
                    // a hidden leftover beside the file, overwritten by the next put back
                }
            }
            targets.clear(); // restored: nothing to revert any more
            old.clear();
        }

        /** The restore failed: every file put back gets its old content again (or goes, where there was none). */
        public List<String> revert() {
            List<String> problems = new ArrayList<>();
            for (int i = targets.size() - 1; i >= 0; i--) {
                try {
                    if (old.get(i) != null) {
                        Files.move(old.get(i), targets.get(i), StandardCopyOption.ATOMIC_MOVE,
                                StandardCopyOption.REPLACE_EXISTING);
                    } else {
                        Files.deleteIfExists(targets.get(i));
                    }
                } catch (IOException e) {
                    problems.add(targets.get(i) + ": " + e);
                }
            }
            targets.clear();
            old.clear();
            return problems;
        }
    }
}
