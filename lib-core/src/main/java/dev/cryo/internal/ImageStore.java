package dev.cryo.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A directory of images. Each image is written into {@code .tmp-<id>-<pid>} and renamed to
 * {@code img-<id>} only once CRIU succeeded and its metadata is written, so a start never sees a
 * half-written image; temporary directories of processes that died are removed.
 */
public final class ImageStore {
    public static final String IMAGE_PREFIX = "img-";
    public static final String TEMP_PREFIX = ".tmp-";
    public static final String FAILED_LOG = "last-failed-checkpoint.log";
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'", Locale.ROOT);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path root;

    public ImageStore(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    public Path root() {
        return root;
    }

    /**
     * Why this store must not be used, or empty when it may: a store (or an image in it) is
     * restored and written as the user running Cryo, so it must be that user's alone: not a
     * symbolic link (which could lead anywhere), owned by that user, and not writable by group or
     * others (who could put a process of their choosing into it). A store that does not exist yet
     * is fine: it is created 0700.
     */
    public Optional<String> untrusted() {
        return Files.exists(root, LinkOption.NOFOLLOW_LINKS) ? untrusted(root, "image store") : Optional.empty();
    }

    /** Why directory {@code dir} must not be used (see {@link #untrusted()}), or empty; {@code what} names it. */
    public static Optional<String> untrusted(Path dir, String what) {
        try {
            PosixFileAttributes a = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (a.isSymbolicLink()) {
                return Optional.of("the " + what + " " + dir + " is a symbolic link (to " + Files.readSymbolicLink(dir)
                        + "); use the directory itself");
            }
            if (!a.isDirectory()) {
                return Optional.of("the " + what + " " + dir + " is not a directory");
            }
            int owner = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
            int me = ProcessFacts.effectiveUid();
            if (owner != me) {
                return Optional.of("the " + what + " " + dir + " is owned by uid " + owner + " (" + a.owner().getName()
                        + "), not by uid " + me + " who runs Cryo; chown it, or use a directory of your own");
            }
            Set<PosixFilePermission> mode = a.permissions();
            if (mode.contains(PosixFilePermission.GROUP_WRITE) || mode.contains(PosixFilePermission.OTHERS_WRITE)) {
                return Optional.of("the " + what + " " + dir + " is writable by " + (mode.contains(
                        PosixFilePermission.OTHERS_WRITE) ? "others" : "its group") + " ("
                        + PosixFilePermissions.toString(mode) + "); chmod 700 it");
            }
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.of("the " + what + " " + dir + " cannot be examined: " + e);
        }
    }

    /** A new image id: sortable by time, unique by its random part. */
    public static String newId() {
        byte[] r = new byte[4];
        RANDOM.nextBytes(r);
        return ID_TIME.format(ZonedDateTime.now(ZoneOffset.UTC)) + "-" + HexFormat.of().formatHex(r);
    }

    /** Creates the store (0700) when missing and a temporary directory for image {@code id}. */
    public Path begin(String id) throws IOException {
        if (!Files.isDirectory(root)) {
            Files.createDirectories(root, PosixFilePermissions.asFileAttribute(Permissions.DIR));
        }
        Path tmp = root.resolve(TEMP_PREFIX + id + "-" + ProcessHandle.current().pid());
        Files.createDirectory(tmp, PosixFilePermissions.asFileAttribute(Permissions.DIR));
        return tmp;
    }

    /** The directory image {@code id} has once committed. */
    public Path imagePath(String id) {
        return root.resolve(IMAGE_PREFIX + id);
    }

    /**
     * Makes the temporary image final: owner-only permissions, the list of its files and their
     * sizes added to {@code metadata}, metadata written last, then one rename.
     */
    public Path commit(Path tmp, ImageMetadata metadata) throws IOException {
        Permissions.ownerOnlyTree(tmp);
        metadata.withFiles(listFiles(tmp)).write(tmp);
        Path target = imagePath(metadata.id());
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        return target;
    }

    /** Removes a temporary image after a failure, keeping CRIU's log as {@value #FAILED_LOG}. */
    public Optional<Path> abort(Path tmp, String logName) {
        Optional<Path> kept = keepLog(tmp, logName);
        deleteTree(tmp);
        return kept;
    }

    /** Moves CRIU's log out of a failed temporary image, to {@value #FAILED_LOG}; empty when there is none. */
    public Optional<Path> keepLog(Path tmp, String logName) {
        Path log = tmp.resolve(logName);
        try {
            if (Files.isRegularFile(log)) {
                Path kept = root.resolve(FAILED_LOG);
                Files.move(log, kept, StandardCopyOption.REPLACE_EXISTING);
                return Optional.of(kept);
            }
        } catch (IOException e) {
            // then no log is kept
        }
        return Optional.empty();
    }

    /**
     * Claims the right to checkpoint build {@code key} into this store: a file created exclusively,
     * holding the claimant's pid. A claim whose holder is dead is taken over, so a crashed
     * checkpoint never blocks the next. Empty when a live process holds it.
     */
    public Optional<Path> claim(String key) throws IOException {
        if (!Files.isDirectory(root)) {
            Files.createDirectories(root, PosixFilePermissions.asFileAttribute(Permissions.DIR));
        }
        Path file = root.resolve(".checkpointing-" + key);
        for (int attempt = 0; attempt < 2; attempt++) {
            try {
                Files.writeString(file, Long.toString(ProcessHandle.current().pid()),
                        java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE);
                Permissions.ownerOnlyFile(file);
                return Optional.of(file);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                long holder = holderPid(file);
                if (holder > 0 && ProcessHandle.of(holder).map(ProcessHandle::isAlive).orElse(false)) {
                    return Optional.empty();
                }
                Files.deleteIfExists(file); // its holder died: take the claim over
            }
        }
        return Optional.empty();
    }

    /** Who holds the claim on {@code key}, for messages. */
    public String claimHolder(String key) {
        long pid = holderPid(root.resolve(".checkpointing-" + key));
        return "pid " + pid + ProcessHandle.of(pid).flatMap(h -> h.info().commandLine()).map(c -> ": " + c).orElse("");
    }

    private static long holderPid(Path file) {
        try {
            return Long.parseLong(Files.readString(file).trim());
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    /** Gives a claim back. */
    public static void release(Path claim) {
        try {
            Files.deleteIfExists(claim);
        } catch (IOException e) {
            // A claim left behind is taken over once its holder is gone.
        }
    }

    /** Complete images, newest first. */
    public List<Image> images() {
        List<Image> out = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return out;
        }
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root, IMAGE_PREFIX + "*")) {
            for (Path d : dirs) {
                if (Files.isDirectory(d)) {
                    Optional<String> untrusted = untrusted(d, "image");
                    if (untrusted.isPresent()) {
                        out.add(new Image(d, null, untrusted.get()));
                        continue;
                    }
                    try {
                        out.add(new Image(d, ImageMetadata.read(d), null));
                    } catch (IOException e) {
                        out.add(new Image(d, null, e.getMessage()));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list image store " + root, e);
        }
        out.sort(Comparator.comparing((Image i) -> i.dir().getFileName().toString()).reversed());
        return out;
    }

    /** Deletes temporary directories whose writer is no longer alive; returns how many. */
    public int removeStale() {
        int removed = 0;
        if (!Files.isDirectory(root)) {
            return 0;
        }
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root, TEMP_PREFIX + "*")) {
            for (Path d : dirs) {
                String name = d.getFileName().toString();
                long pid = parsePid(name);
                if (pid <= 0 || ProcessHandle.of(pid).isEmpty()) {
                    deleteTree(d);
                    removed++;
                }
            }
        } catch (IOException e) {
            return removed;
        }
        return removed;
    }

    private static long parsePid(String tempName) {
        int dash = tempName.lastIndexOf('-');
        try {
            return Long.parseLong(tempName.substring(dash + 1));
        } catch (RuntimeException e) {
            return -1;
        }
    }

    /** The regular files under {@code dir} (relative names) and their sizes, metadata excluded. */
    static Map<String, Long> listFiles(Path dir) throws IOException {
        Map<String, Long> files = new java.util.TreeMap<>();
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                String rel = dir.relativize(file).toString();
                if (attrs.isRegularFile() && !rel.startsWith(ImageMetadata.FILE_NAME) && !rel.endsWith(".log")) {
                    files.put(rel, attrs.size());
                }
                return FileVisitResult.CONTINUE;
            }
        });
        return files;
    }

    public static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            // Best effort: what is left is a .tmp- directory nobody restores from.
        }
    }

    /**
     * One image directory.
     *
     * @param dir        its directory
     * @param metadata   its metadata; null when it cannot be read
     * @param unreadable why not, when it cannot be read
     */
    public record Image(Path dir, ImageMetadata metadata, String unreadable) {

        public String id() {
            return dir.getFileName().toString().substring(IMAGE_PREFIX.length());
        }

        /** Why this image cannot be restored, or empty when it is whole. */
        public Optional<String> defect() {
            if (metadata == null) {
                return Optional.of(unreadable);
            }
            Map<String, Long> files = metadata.files();
            if (!files.containsKey("inventory.img")) {
                return Optional.of("it holds no CRIU inventory.img");
            }
            for (Map.Entry<String, Long> f : files.entrySet()) {
                Path p = dir.resolve(f.getKey());
                try {
                    long size = Files.size(p);
                    if (size != f.getValue()) {
                        return Optional.of(f.getKey() + " is " + size + " bytes, the metadata says " + f.getValue()
                                + " (truncated or changed)");
                    }
                } catch (IOException e) {
                    return Optional.of(f.getKey() + " is missing or unreadable");
                }
            }
            return Optional.empty();
        }
    }
}
