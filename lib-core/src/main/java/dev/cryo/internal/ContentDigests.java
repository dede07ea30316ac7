package dev.cryo.internal;

import dev.cryo.internal.criu.CriuLocation;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * SHA-256 digests of files' contents, remembered in {@code $CRYO_HOME/content-digests.properties}
 * with what identifies the version of the file they were taken of: size, modification time (ns),
 * device and inode, and change time. The change time moves on every write and cannot be set back,
 * so a file rewritten in place with its size and modification time restored is digested again. A
 * restore's launcher thus reads no class path file and no mapped library, only their attributes.
 *
 * <p>The cache vouches for contents the launcher does not read, so it is trusted only as the image
 * store is: a regular file owned by the user running Cryo and not writable by group or others
 * (written 0600); any other is ignored and replaced. One cache for all stores: the libraries a JVM
 * maps are the same whatever store its image goes to.
 */
public final class ContentDigests {
    private static final Object LOCK = new Object();
    private static Properties known;
    private static boolean dirty;
    private static final java.util.concurrent.atomic.AtomicInteger READS = new java.util.concurrent.atomic.AtomicInteger();

    private ContentDigests() {}

    /** The SHA-256 of {@code file}'s contents, in hex. */
    public static String of(Path file) throws IOException {
        String version;
        try {
            Map<String, Object> a = Files.readAttributes(file, "unix:size,lastModifiedTime,dev,ino,ctime");
            version = a.get("size") + "|" + ((FileTime) a.get("lastModifiedTime")).to(TimeUnit.NANOSECONDS) + "|"
                    + a.get("dev") + ":"
                    + a.get("ino") + "|" + ((FileTime) a.get("ctime")).to(TimeUnit.NANOSECONDS);
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            version = a.size() + "|" + a.lastModifiedTime().toMillis() + "|" + a.fileKey() + "|?";
        }
        synchronized (LOCK) {
            load();
            String entry = known.getProperty(file.toString());
            if (entry != null && entry.startsWith(version + "|")) {
                return entry.substring(version.length() + 1);
            }
        }
        READS.incrementAndGet();
        String digest = digest(file);
        synchronized (LOCK) {
            known.setProperty(file.toString(), version + "|" + digest);
            dirty = true;
        }
        return digest;
    }

    /** Writes what was learned since the last call; a failure only costs digesting again later. */
    public static void save() {
        synchronized (LOCK) {
            if (!dirty) {
                return;
            }
            Path target = store();
            try {
                Files.createDirectories(target.getParent());
                known.keySet().removeIf(k -> !Files.exists(Path.of((String) k))); // files gone since
                Path tmp = target.resolveSibling(target.getFileName() + "." + ProcessHandle.current().pid());
                Files.deleteIfExists(tmp);
                Files.createFile(tmp, PosixFilePermissions.asFileAttribute(Permissions.FILE));
                try (Writer w = Files.newBufferedWriter(tmp)) {
                    known.store(w, "Cryo: SHA-256 of class path files and libraries, by size|mtime|dev:inode|ctime");
                }
                try {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
                }
                dirty = false;
            } catch (IOException | RuntimeException e) {
                // next time, then
            }
        }
    }

    private static void load() {
        if (known != null) {
            return;
        }
        known = new Properties();
        Path f = store();
        if (trusted(f)) {
            try (Reader r = Files.newBufferedReader(f)) {
                known.load(r);
            } catch (IOException | IllegalArgumentException e) {
                known = new Properties(); // unreadable: digest again
            }
        }
    }

    /** Whether the cache file may be believed: see the class comment. */
    static boolean trusted(Path f) {
        return Permissions.notOwnersAlone(f, "content digest cache", false).isEmpty(); // else: digest again
    }

    /** How many files this process has read to digest them (tests: a cache hit reads none). */
    static int reads() {
        return READS.get();
    }

    /** Forgets what was loaded, so that the next digest reads the cache file again (tests). */
    static void forget() {
        synchronized (LOCK) {
            known = null;
            dirty = false;
        }
    }

    static Path store() {
        return CriuLocation.cryoHome().resolve("content-digests.properties");
    }

    private static String digest(Path file) throws IOException {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every JDK has SHA-256", e);
        }
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                sha.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }
}
