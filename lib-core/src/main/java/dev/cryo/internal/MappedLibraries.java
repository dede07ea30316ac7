package dev.cryo.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The libraries this process maps: its file-backed executable mappings and shared objects
 * ({@code /proc/self/maps}: the java binary, libjvm.so, libc, libcriu, libcuda, ...). CRIU maps
 * them again at restore from the files at those paths and checks no more than their size: a
 * library patched in place with its size kept (a libjvm.so of the same size) gives the restored
 * process code that does not match its memory, and it crashes. So the image records each one's
 * content digest, and an image whose library now has other contents does not fit. Digests come
 * from {@link ContentDigests}, so a library is read once per version of its file, by the
 * checkpoint; the launcher then only reads attributes.
 */
public final class MappedLibraries {
    // address perms offset dev inode path; the path may hold spaces
    private static final Pattern LINE = Pattern.compile("^\\S+\\s+(\\S+)\\s+\\S+\\s+\\S+\\s+\\d+\\s+(/.*)$");
    private static final Pattern SHARED_OBJECT = Pattern.compile(".*\\.so(\\.[0-9.]+)?$");

    /**
     * One library as it was at checkpoint.
     *
     * @param path     its path
     * @param size     its size
     * @param modified its modification time, epoch milliseconds (for people: the digest decides)
     * @param inode    its device and inode, as {@code dev:inode} (for people)
     * @param sha256   the SHA-256 of its contents
     */
    public record Recorded(String path, long size, long modified, String inode, String sha256) {}

    private MappedLibraries() {}

    private static volatile java.util.concurrent.CompletableFuture<Void> digesting =
            java.util.concurrent.CompletableFuture.completedFuture(null);

    /**
     * Starts digesting the libraries mapped now on a thread of its own, so that {@link #current()}
     * later finds them in the cache: the first checkpoint on a machine reads some 300 MB of CUDA
     * libraries (788 ms on the H200 machine, inside the checkpoint's describe step), which this
     * overlaps with the steps before it.
     */
    public static void digestAhead() {
        digesting = java.util.concurrent.CompletableFuture.runAsync(() -> mapped(readMaps()).parallelStream()
                .forEach(MappedLibraries::recorded), runnable -> Thread.ofPlatform().daemon()
                .name("cryo-library-digests").start(runnable));
    }

    /** The libraries this process maps now, with their digests; one that cannot be read is left out. */
    public static List<Recorded> current() {
        digesting.exceptionally(e -> null).join(); // what it learned is in the cache
        // In parallel: a GPU process maps some 300 MB of CUDA libraries, read whole the first time.
        List<Recorded> out = mapped(readMaps()).parallelStream()
                .map(MappedLibraries::recorded)
                .flatMap(Optional::stream)
                .toList();
        ContentDigests.save();
        return out;
    }

    private static Optional<Recorded> recorded(Path p) {
        try {
            Map<String, Object> a = Files.readAttributes(p, "unix:size,lastModifiedTime,dev,ino");
            return Optional.of(new Recorded(p.toString(), (Long) a.get("size"),
                    ((java.nio.file.attribute.FileTime) a.get("lastModifiedTime")).toMillis(),
                    a.get("dev") + ":" + a.get("ino"), ContentDigests.of(p)));
        } catch (IOException | RuntimeException e) {
            return Optional.empty(); // gone or unreadable: nothing to compare it with later either
        }
    }

    private static List<String> readMaps() {
        try {
            return Files.readAllLines(Path.of("/proc/self/maps"));
        } catch (IOException e) {
            return List.of();
        }
    }

    /** The files of {@code maps} lines that are mapped executable or are shared objects, once each, in order. */
    static List<Path> mapped(List<String> maps) {
        Set<Path> files = new LinkedHashSet<>();
        for (String line : maps) {
            Matcher m = LINE.matcher(line);
            if (!m.matches() || m.group(2).endsWith(" (deleted)")) {
                continue; // anonymous, [heap], [vdso], or a file deleted since it was mapped
            }
            if (m.group(1).contains("x") || SHARED_OBJECT.matcher(m.group(2)).matches()) {
                files.add(Path.of(m.group(2)));
            }
        }
        return List.copyOf(files);
    }

    /**
     * Why the libraries {@code recorded} at checkpoint are not the files at their paths now (the
     * first one found: gone, resized, or other contents), or empty when all are the same.
     */
    public static Optional<String> misfit(List<Recorded> recorded) {
        try {
            for (Recorded r : recorded) {
                Path p = Path.of(r.path());
                long size;
                String sha;
                try {
                    size = Files.size(p);
                    sha = ContentDigests.of(p);
                } catch (IOException e) {
                    return Optional.of("library " + r.path() + " is gone or unreadable");
                }
                if (size != r.size()) {
                    return Optional.of("library " + r.path() + " changed since the checkpoint (" + r.size() + " bytes then, "
                            + size + " now)");
                }
                if (!sha.equals(r.sha256())) {
                    return Optional.of("library " + r.path() + " changed since the checkpoint (same size, other contents)");
                }
            }
            return Optional.empty();
        } finally {
            ContentDigests.save();
        }
    }
}
