package dev.cryo.internal;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The manifest of one image, {@value #FILE_NAME}: every file of the image (CRIU's files, stored
 * files, GPU memory files, device memory files; logs aside) with its size and a digest of each
 * {@value #CHUNK_BYTES}-byte piece, and the SHA-256 of the image's {@link ImageMetadata} file.
 * Written by {@link ImageStore#commit} after the metadata, as the commit point: an image is whole
 * only with a manifest that reads back and whose metadata digest matches, and an image without one
 * is never restored.
 *
 * <p>Pieces, not whole files, so that one large pages file is hashed and checked by several threads.
 * The pieces' digest is CRC32C, unless a key is set: it catches flipped bytes, truncation and torn
 * writes, and costs 65 ms for a 335 MB pages file in a fresh JVM on 2 cores (SHA-256: 230-440 ms,
 * though JDK 25 uses the CPU's SHA extensions; SHA-512/256 and SHA3-256 slower still), which is
 * paid at every checkpoint and every restore. With a key it is SHA-256: a CRC can be forged, and the
 * HMAC then vouches for digests that cannot.
 *
 * <p>Device memory files are listed with their sizes only: their contents carry a CRC32C per chunk
 * in the metadata (so under the manifest's metadata digest), checked while they are read back
 * ({@link DeviceMemoryFiles}); a SHA-256 of many GiB would cost seconds at every restore.
 *
 * <p>When {@value #KEY_ENV} is set, the manifest carries an HMAC-SHA256 of its entries with that
 * key, and an image without a valid one is refused: a store that others can write then cannot hand
 * the launcher a forged image (the metadata is vouched for through its digest).
 *
 * @param algorithm      the pieces' digest: {@value #CRC32C} or {@value #SHA256}
 * @param files          each file's size and piece digests, by name relative to the image
 * @param metadataSha256 the SHA-256 of the image's metadata file
 */
public record ImageManifest(String algorithm, Map<String, Entry> files, String metadataSha256) {
    public static final String CRC32C = "CRC32C";
    public static final String SHA256 = "SHA-256";
    public static final String FILE_NAME = "cryo-manifest.properties";
    /** The environment variable that holds the key for the manifest's HMAC. */
    public static final String KEY_ENV = "CRYO_IMAGE_KEY";
    public static final long CHUNK_BYTES = 32L << 20;
    private static final int FORMAT = 1;
    private static final String HMAC = "hmac.sha256";
    private static final HexFormat HEX = HexFormat.of();

    /**
     * One file.
     *
     * @param bytes   its size
     * @param digests the digest of each piece, in order; empty when its contents are checked elsewhere
     *                (device memory files: CRC32C per chunk)
     */
    public record Entry(long bytes, List<String> digests) {
        public Entry {
            digests = List.copyOf(digests);
        }
    }

    public ImageManifest {
        files = Collections.unmodifiableMap(new TreeMap<>(files));
    }

    /** The key for the HMAC, from {@value #KEY_ENV}; empty when it is not set (or empty). */
    public static Optional<byte[]> keyFromEnvironment() {
        String key = System.getenv(KEY_ENV);
        return key == null || key.isEmpty() ? Optional.empty() : Optional.of(key.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Hashes the files {@code files} of the image in {@code dir} with {@code algorithm}, in parallel,
     * all but those named in {@code checkedElsewhere}, and the metadata file already written there.
     */
    public static ImageManifest of(Path dir, Set<String> files, Set<String> checkedElsewhere, String algorithm)
            throws IOException {
        Map<String, List<Future<String>>> pieces = new TreeMap<>();
        Map<String, Long> sizes = new TreeMap<>();
        ExecutorService pool = pool();
        try {
            for (String name : files) {
                Path file = dir.resolve(name);
                long size = Files.size(file);
                sizes.put(name, size);
                List<Future<String>> digests = new ArrayList<>();
                if (!checkedElsewhere.contains(name)) {
                    for (long at = 0; at == 0 || at < size; at += CHUNK_BYTES) {
                        long from = at;
                        digests.add(pool.submit(() -> digest(algorithm, file, from, Math.min(size, from + CHUNK_BYTES))));
                    }
                }
                pieces.put(name, digests);
            }
            String metadata = digest(SHA256, dir.resolve(ImageMetadata.FILE_NAME), 0,
                    Files.size(dir.resolve(ImageMetadata.FILE_NAME)));
            Map<String, Entry> entries = new TreeMap<>();
            for (Map.Entry<String, List<Future<String>>> e : pieces.entrySet()) {
                List<String> digests = new ArrayList<>();
                for (Future<String> f : e.getValue()) {
                    digests.add(join(f));
                }
                entries.put(e.getKey(), new Entry(sizes.get(e.getKey()), digests));
            }
            return new ImageManifest(algorithm, entries, metadata);
        } finally {
            pool.shutdownNow();
        }
    }

    /** Writes the manifest (0600) into {@code dir} through a temporary file and a rename, with an HMAC when {@code key} is given. */
    public void write(Path dir, Optional<byte[]> key) throws IOException {
        Map<String, String> m = toProperties();
        key.ifPresent(k -> m.put(HMAC, hmac(m, k)));
        Properties p = new Properties();
        m.forEach(p::setProperty);
        Path tmp = dir.resolve(FILE_NAME + ".tmp");
        try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            p.store(w, "Cryo image manifest: the " + algorithm + " of every " + CHUNK_BYTES + "-byte piece of each file");
        }
        Permissions.ownerOnlyFile(tmp);
        Files.move(tmp, dir.resolve(FILE_NAME), StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Reads the manifest of the image in {@code dir} and checks what is cheap to check: its HMAC when
     * {@code key} is given, and the metadata file's digest.
     *
     * @throws IOException when it is missing, damaged, unsigned or wrongly signed, or the metadata
     *                     was changed; the message says which, phrased to follow "image ID cannot be used:"
     */
    public static ImageManifest read(Path dir, Optional<byte[]> key) throws IOException {
        Path file = dir.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new IOException("it has no " + FILE_NAME + " (an unfinished image, or one made before manifests):"
                    + " its contents cannot be checked, so it is never restored");
        }
        Map<String, String> m = new TreeMap<>();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            Properties p = new Properties();
            p.load(r);
            p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k)));
        } catch (IOException | IllegalArgumentException e) {
            throw new IOException("its " + FILE_NAME + " is unreadable: " + e, e);
        }
        String hmac = m.remove(HMAC);
        if (key.isPresent()) {
            if (hmac == null) {
                throw new IOException("its " + FILE_NAME + " carries no HMAC, and " + KEY_ENV + " is set: only images"
                        + " made with that key are restored");
            }
            if (!MessageDigest.isEqual(hmac.getBytes(StandardCharsets.US_ASCII),
                    hmac(m, key.get()).getBytes(StandardCharsets.US_ASCII))) {
                throw new IOException("its " + FILE_NAME + "'s HMAC does not match " + KEY_ENV + " (made with another"
                        + " key, or changed since)");
            }
            if (!SHA256.equals(m.get("algorithm"))) {
                throw new IOException("its " + FILE_NAME + " has " + m.get("algorithm") + " digests, which a key cannot"
                        + " vouch for (" + KEY_ENV + " is set): only SHA-256 images are restored");
            }
        }
        ImageManifest manifest;
        try {
            manifest = fromProperties(m);
        } catch (RuntimeException e) {
            throw new IOException("its " + FILE_NAME + " is damaged: " + e, e);
        }
        Path metadata = dir.resolve(ImageMetadata.FILE_NAME);
        String actual = Files.isRegularFile(metadata) ? digest(SHA256, metadata, 0, Files.size(metadata)) : "none";
        if (!actual.equals(manifest.metadataSha256())) {
            throw new IOException("its " + ImageMetadata.FILE_NAME + " was changed after the image was made (its"
                    + " SHA-256 is not the one in " + FILE_NAME + ")");
        }
        return manifest;
    }

    /**
     * Checks every piece of every file in {@code dir} against this manifest, in parallel; the first
     * difference found, naming the file, or empty when all match.
     */
    public Optional<String> mismatch(Path dir) {
        ExecutorService pool = pool();
        try {
            return mismatch(dir, pool);
        } finally {
            pool.shutdownNow();
        }
    }

    private Optional<String> mismatch(Path dir, ExecutorService pool) {
        List<Future<Optional<String>>> checks = new ArrayList<>();
        for (Map.Entry<String, Entry> e : files.entrySet()) {
            Path file = dir.resolve(e.getKey());
            long size;
            try {
                size = Files.size(file);
            } catch (IOException x) {
                return Optional.of(e.getKey() + " is missing or unreadable");
            }
            if (size != e.getValue().bytes()) {
                return Optional.of(e.getKey() + " is " + size + " bytes, its manifest says " + e.getValue().bytes()
                        + " (truncated or changed)");
            }
            List<String> expected = e.getValue().digests();
            for (int n = 0; n < expected.size(); n++) {
                long from = n * CHUNK_BYTES;
                String want = expected.get(n);
                checks.add(pool.submit(() -> {
                    String got = digest(algorithm, file, from, Math.min(size, from + CHUNK_BYTES));
                    return got.equals(want) ? Optional.<String>empty()
                            : Optional.of(e.getKey() + " differs from its manifest (the " + algorithm + " of bytes " + from
                                    + "-" + Math.min(size, from + CHUNK_BYTES) + " is not the one recorded):"
                                    + " changed or damaged since the checkpoint");
                }));
            }
        }
        for (Future<Optional<String>> f : checks) {
            Optional<String> problem;
            try {
                problem = f.get();
            } catch (ExecutionException x) {
                problem = Optional.of("a file of the image cannot be read: " + x.getCause());
            } catch (InterruptedException x) {
                Thread.currentThread().interrupt();
                problem = Optional.of("the check of its files was interrupted");
            }
            if (problem.isPresent()) {
                return problem;
            }
        }
        return Optional.empty();
    }

    /**
     * {@link #mismatch} on a thread of its own, so that the caller overlaps it with other work;
     * cancelling the future stops the reading.
     */
    public CompletableFuture<Optional<String>> mismatchInBackground(Path dir) {
        CompletableFuture<Optional<String>> result = new CompletableFuture<>();
        ExecutorService pool = pool();
        result.whenComplete((r, e) -> pool.shutdownNow()); // done, or cancelled: the readers stop
        Thread.ofPlatform().daemon().name("cryo-image-check").start(() -> {
            try {
                result.complete(mismatch(dir, pool));
            } catch (RuntimeException e) {
                result.complete(Optional.of("its files cannot be checked: " + e));
            }
        });
        return result;
    }

    private Map<String, String> toProperties() {
        Map<String, String> m = new TreeMap<>();
        m.put("format", Integer.toString(FORMAT));
        m.put("algorithm", algorithm);
        m.put("chunk.bytes", Long.toString(CHUNK_BYTES));
        m.put("metadata.sha256", metadataSha256);
        files.forEach((name, e) -> {
            m.put("file." + name + ".bytes", Long.toString(e.bytes()));
            m.put("file." + name + ".digests", e.digests().isEmpty() ? "-" : String.join(",", e.digests()));
        });
        return m;
    }

    private static ImageManifest fromProperties(Map<String, String> m) {
        String algorithm = m.get("algorithm");
        if (!Integer.toString(FORMAT).equals(m.get("format")) || !(CRC32C.equals(algorithm) || SHA256.equals(algorithm))
                || !Long.toString(CHUNK_BYTES).equals(m.get("chunk.bytes"))) {
            throw new IllegalArgumentException("format " + m.get("format") + ", " + m.get("algorithm") + " in pieces of "
                    + m.get("chunk.bytes") + " bytes; this Cryo reads format " + FORMAT);
        }
        Map<String, Entry> files = new TreeMap<>();
        m.forEach((k, v) -> {
            if (k.startsWith("file.") && k.endsWith(".bytes")) {
                String name = k.substring(5, k.length() - 6);
                String digests = m.get("file." + name + ".digests");
                if (digests == null) {
                    throw new IllegalArgumentException("no digest for " + name);
                }
                files.put(name, new Entry(Long.parseLong(v), digests.equals("-") ? List.of()
                        : List.of(digests.split(","))));
            }
        });
        String metadata = m.get("metadata.sha256");
        if (metadata == null) {
            throw new IllegalArgumentException("no metadata.sha256");
        }
        return new ImageManifest(algorithm, files, metadata);
    }

    /** HMAC-SHA256 of the entries, sorted, as {@code key=value} lines. */
    private static String hmac(Map<String, String> entries, byte[] key) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            new TreeMap<>(entries).forEach((k, v) -> mac.update((k + "=" + v + "\n").getBytes(StandardCharsets.UTF_8)));
            return HEX.formatHex(mac.doFinal());
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new AssertionError("every JDK has HmacSHA256", e);
        }
    }

    private static String digest(String algorithm, Path file, long from, long to) throws IOException {
        MessageDigest sha = null;
        java.util.zip.CRC32C crc = null;
        if (SHA256.equals(algorithm)) {
            try {
                sha = MessageDigest.getInstance(SHA256);
            } catch (NoSuchAlgorithmException e) {
                throw new AssertionError("every JDK has SHA-256", e);
            }
        } else {
            crc = new java.util.zip.CRC32C();
        }
        // 256 KiB: the copy out of the page cache stays in the core's cache (1 MiB: 20% slower, measured)
        ByteBuffer buf = ByteBuffer.allocateDirect(256 << 10);
        try (FileChannel ch = FileChannel.open(file)) {
            for (long at = from; at < to; ) {
                buf.clear().limit((int) Math.min(buf.capacity(), to - at));
                int n = ch.read(buf, at);
                if (n < 0) {
                    throw new IOException(file.getFileName() + " ends at " + at + ", before " + to);
                }
                at += n;
                if (sha != null) {
                    sha.update(buf.flip());
                } else {
                    crc.update(buf.flip());
                }
            }
        }
        return sha != null ? HEX.formatHex(sha.digest()) : HEX.toHexDigits((int) crc.getValue());
    }

    /** Threads for hashing: one per core, at most 8 (the disk, not the cores, bounds more). */
    private static ExecutorService pool() {
        int threads = Math.max(1, Math.min(8, Runtime.getRuntime().availableProcessors()));
        return Executors.newFixedThreadPool(threads, Thread.ofPlatform().daemon().name("cryo-image-hash-", 0).factory());
    }

    private static String join(Future<String> f) throws IOException {
        try {
            return f.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new UncheckedIOException(new IOException(e.getCause()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while hashing the image", e);
        }
    }
}
