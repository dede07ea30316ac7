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

/**
 * A directory of images. Each image is written into {@code .tmp-<id>-<pid>} and renamed to
 * {@code img-<id>} only once CRIU succeeded and its metadata is written, so a start never sees a
 * half-written image. A temporary directory holds a {@link ProcessClaim} of its writer,
 * {@value #OWNER}; it is removed once that claim is stale (its writer died, by the claim's rule
 * across PID namespaces), or, without one, once it is older than {@link ProcessClaim#FOREIGN_LIMIT}.
 */
public final class ImageStore {
    public static final String IMAGE_PREFIX = "img-";
    public static final String TEMP_PREFIX = ".tmp-";
    public static final String FAILED_LOG = "last-failed-checkpoint.log";
    /** The file that marks an image bad (see {@link #markBad}). */
    public static final String BAD_MARK = "cryo-bad-image.txt";
    /** The claim of a temporary directory's writer, inside it. */
    public static final String OWNER = ".cryo-owner";
    /** The claim on checkpointing a build into the store: this prefix and the build key. */
    public static final String CLAIM_PREFIX = ".checkpointing-";
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
        return Permissions.notOwnersAlone(dir, what, true);
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
        ProcessClaim.create(tmp.resolve(OWNER));
        return tmp;
    }

    /** Moves the finished temporary directory {@code tmp} to {@code target}, without its writer's claim. */
    public static void finish(Path tmp, Path target) throws IOException {
        Files.deleteIfExists(tmp.resolve(OWNER));
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The directory image {@code id} has once committed. */
    public Path imagePath(String id) {
        return root.resolve(IMAGE_PREFIX + id);
    }

    /**
     * Makes the temporary image final: owner-only permissions, the list of its files and their
     * sizes added to {@code metadata}, metadata written, then its {@link ImageManifest} (hashed in
     * parallel: CRC32C, or SHA-256 signed with {@value ImageManifest#KEY_ENV} when set) last, then one rename.
     */
    public Path commit(Path tmp, ImageMetadata metadata) throws IOException {
        Files.deleteIfExists(tmp.resolve(OWNER)); // not part of the image
        Permissions.ownerOnlyTree(tmp);
        ImageMetadata listed = metadata.withFiles(listFiles(tmp));
        listed.write(tmp);
        seal(tmp, listed);
        Path target = imagePath(metadata.id());
        finish(tmp, target);
        return target;
    }

    /**
     * Writes the {@link ImageManifest} of the image in {@code dir} whose metadata, already written
     * there, is {@code metadata}: the image's commit point.
     */
    public static void seal(Path dir, ImageMetadata metadata) throws IOException {
        java.util.Set<String> deviceMemoryFiles = new java.util.HashSet<>();
        if (!metadata.deviceMemory().isEmpty()) {
            for (int f = 0; f < metadata.deviceMemory().files(); f++) {
                deviceMemoryFiles.add(DeviceMemoryFiles.file(dir, f).getFileName().toString());
            }
        }
        java.util.Optional<byte[]> key = ImageManifest.keyFromEnvironment();
        ImageManifest.of(dir, metadata.files().keySet(), deviceMemoryFiles,
                key.isPresent() ? ImageManifest.SHA256 : ImageManifest.CRC32C).write(dir, key);
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
     * Claims the right to checkpoint build {@code key} into this store: a {@link ProcessClaim}
     * created exclusively (0600). A stale claim (its holder died) is taken over, so a crashed
     * checkpoint never blocks the next. Empty when a live process holds it, or one that cannot be
     * checked (another PID namespace) claimed it less than {@link ProcessClaim#FOREIGN_LIMIT} ago.
     */
    public Optional<Path> claim(String key) throws IOException {
        if (!Files.isDirectory(root)) {
            Files.createDirectories(root, PosixFilePermissions.asFileAttribute(Permissions.DIR));
        }
        Path file = root.resolve(CLAIM_PREFIX + key);
        for (int attempt = 0; attempt < 2; attempt++) {
            try {
                ProcessClaim.create(file);
                return Optional.of(file);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                if (!ProcessClaim.stale(file)) {
                    return Optional.empty();
                }
                Files.deleteIfExists(file); // its holder died: take the claim over
            }
        }
        return Optional.empty();
    }

    /** Who holds the claim on {@code key}, for messages. */
    public String claimHolder(String key) {
        return ProcessClaim.holder(root.resolve(CLAIM_PREFIX + key));
    }

    /**
     * Gives a claim back, when this process holds it: a restored copy of the claimant (same pid,
     * another start time) leaves alone what may by then be another process's claim.
     */
    public static void release(Path claim) {
        try {
            if (ProcessClaim.mine(claim)) {
                Files.deleteIfExists(claim);
            }
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

    /**
     * Removes {@code image}: first renamed to a temporary name, so that no start chooses it from then
     * on (a restore that already opened its files keeps reading them), then deleted; a removal cut
     * short leaves a temporary directory that {@link #removeStale()} deletes.
     *
     * @throws IOException when it cannot be renamed (it is then left whole)
     */
    public void remove(Image image) throws IOException {
        Path doomed = root.resolve(TEMP_PREFIX + "rm-" + image.id() + "-" + ProcessHandle.current().pid());
        Files.move(image.dir(), doomed, StandardCopyOption.ATOMIC_MOVE);
        try {
            ProcessClaim.create(doomed.resolve(OWNER));
        } catch (IOException e) {
            // then removeStale may delete it alongside us, which is what we do anyway
        }
        deleteTree(doomed);
    }

    /** The bytes of the regular files under {@code dir}, all of them (metadata and logs too). */
    public static long directoryBytes(Path dir) {
        long[] total = {0};
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    total[0] += attrs.isRegularFile() ? attrs.size() : 0;
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException exc) {
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            // what was counted
        }
        return total[0];
    }

    /**
     * The image of {@code images} named {@code id}: its id, its directory's name, or a prefix of the
     * id that only it has.
     */
    public static Optional<Image> named(List<Image> images, String id) {
        String bare = id.startsWith(IMAGE_PREFIX) ? id.substring(IMAGE_PREFIX.length()) : id;
        Optional<Image> exact = images.stream().filter(i -> i.id().equals(bare)).findFirst();
        if (exact.isPresent() || bare.isEmpty()) {
            return exact;
        }
        List<Image> prefixed = images.stream().filter(i -> i.id().startsWith(bare)).toList();
        return prefixed.size() == 1 ? Optional.of(prefixed.get(0)) : Optional.empty();
    }

    /**
     * Marks the image in {@code imageDir} bad, with {@code reason} (one line): a
     * small file {@value #BAD_MARK} written through a rename. A bad image never fits again, so the
     * next cold start's checkpoint replaces it; it is kept for inspection until {@link #pruneBad}.
     */
    public static void markBad(Path imageDir, String reason) {
        try {
            Path tmp = imageDir.resolve(BAD_MARK + ".tmp");
            Files.writeString(tmp, reason.replace('\n', ' ') + "\n");
            Permissions.ownerOnlyFile(tmp);
            Files.move(tmp, imageDir.resolve(BAD_MARK), StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            // Then it is tried again next time, and fails again the same way.
        }
    }

    /** Deletes bad images beyond the newest {@code keep}; returns their ids. */
    public List<String> pruneBad(int keep) {
        return pruneBad(images(), keep);
    }

    /** {@link #pruneBad(int)} over images already listed ({@link #images()}, newest first). */
    public List<String> pruneBad(List<Image> listed, int keep) {
        List<String> removed = new ArrayList<>();
        int kept = 0;
        for (Image image : listed) {
            if (image.badReason().isPresent() && ++kept > keep) {
                deleteTree(image.dir());
                removed.add(image.id());
            }
        }
        return removed;
    }

    /**
     * Deletes temporary directories whose writer's claim is stale ({@link ProcessClaim}), and those
     * without a claim (older Cryo, or cut short) older than {@link ProcessClaim#FOREIGN_LIMIT}; returns how many.
     */
    public int removeStale() {
        int removed = 0;
        if (!Files.isDirectory(root)) {
            return 0;
        }
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root, TEMP_PREFIX + "*")) {
            for (Path d : dirs) {
                if (!Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                Path owner = d.resolve(OWNER);
                boolean stale = Files.exists(owner, LinkOption.NOFOLLOW_LINKS) ? ProcessClaim.stale(owner)
                        : ProcessClaim.olderThanLimit(d);
                if (stale) {
                    deleteTree(d);
                    removed++;
                }
            }
        } catch (IOException e) {
            return removed;
        }
        return removed;
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

    /**
     * Removes {@code dir} and everything in it, best effort. A file made in it meanwhile (a restore
     * appending to an image's restores.log) keeps the directory from going, so the walk is made again
     * while the directory is still there, a few times.
     */
    public static void deleteTree(Path dir) {
        for (int attempt = 0; attempt < 5 && Files.exists(dir); attempt++) {
            deleteTreeOnce(dir);
        }
    }

    private static void deleteTreeOnce(Path dir) {
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

        /** Why it was marked bad ({@link ImageStore#markBad}), or empty when it was not. */
        public Optional<String> badReason() {
            try {
                Path mark = dir.resolve(BAD_MARK);
                return Files.isRegularFile(mark) ? Optional.of(Files.readString(mark).strip()) : Optional.empty();
            } catch (IOException e) {
                return Optional.of("(its " + BAD_MARK + " is unreadable)");
            }
        }

        /**
         * Why this image cannot be restored, or empty when it is whole: unreadable, marked bad, no
         * valid manifest (or an HMAC that does not match {@value ImageManifest#KEY_ENV}), files
         * missing or of another size. Only sizes: the contents are checked by {@link #contentMismatch}.
         */
        public Optional<String> defect() {
            if (metadata == null) {
                return Optional.of(unreadable);
            }
            Optional<String> bad = badReason();
            if (bad.isPresent()) {
                return Optional.of("it was marked bad: " + bad.get());
            }
            ImageManifest manifest;
            try {
                manifest = ImageManifest.read(dir, ImageManifest.keyFromEnvironment());
            } catch (IOException e) {
                return Optional.of(e.getMessage());
            }
            Map<String, Long> files = metadata.files();
            for (String name : files.keySet()) {
                if (!manifest.files().containsKey(name)) {
                    return Optional.of(name + " is not in its " + ImageManifest.FILE_NAME);
                }
            }
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

        /**
         * Reads every file of the image and checks it against its manifest, in parallel, in the
         * background: the first difference, naming the file, or empty when all match.
         */
        public java.util.concurrent.CompletableFuture<Optional<String>> contentMismatch() {
            try {
                return ImageManifest.read(dir, ImageManifest.keyFromEnvironment()).mismatchInBackground(dir);
            } catch (IOException e) {
                return java.util.concurrent.CompletableFuture.completedFuture(Optional.of(e.getMessage()));
            }
        }
    }
}
