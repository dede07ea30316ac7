package dev.cryo.internal;

import dev.cryo.internal.os.LibC;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The host copy of a process's GPU memory, kept in files of its own beside CRIU's pages.
 *
 * <p>{@code cuCheckpointProcessCheckpoint} copies device memory into host memory that the driver
 * maps for it (one new anonymous mapping per context, as large as the device memory in use). Left
 * to CRIU, those bytes are restored one 4 KiB page fault at a time by one thread (about 2 GB/s on
 * an H100 host), and then copied to the GPU from small pages. Written here in parallel, dropped
 * from memory (so that CRIU dumps the mapping without its pages), and read back in parallel into
 * memory advised to use huge pages, they come back several times faster, and the driver's copy to
 * the GPU is faster too. The driver does not touch that memory while the process is checkpointed.
 *
 * <p>Each region is listed in the image metadata, its bytes in {@code gpu-memory-<n>-<k>.bin} ({@link #files}).
 */
public final class GpuMemoryFiles {
    /** Mappings smaller than this are left to CRIU: not worth a file. */
    public static final long MIN_BYTES = 64L << 20;
    private static final long CHUNK = 64L << 20;

    /**
     * A range of private anonymous read-write memory.
     *
     * @param start first address
     * @param end   one past the last address
     */
    public record Region(long start, long end) {
        /** Its size in bytes. */
        public long bytes() {
            return end - start;
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "0x%x-0x%x (%d MB)", start, end, bytes() >> 20);
        }
    }

    private GpuMemoryFiles() {}

    /** This process's private anonymous read-write mappings now, from /proc/self/maps. */
    public static List<Region> anonymousRegions() {
        return mappings(true);
    }

    /**
     * Every mapping of this process now, whatever its kind: address space reserved without access
     * (the Java heap's uncommitted part, say) included, so that memory committed into a
     * reservation is never taken for new memory.
     */
    public static List<Region> allMappings() {
        return mappings(false);
    }

    private static List<Region> mappings(boolean anonymousReadWriteOnly) {
        List<Region> regions = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                String[] f = line.trim().split("\\s+");
                // address perms offset dev inode [path]: no path and inode 0 is anonymous memory
                if (!anonymousReadWriteOnly || f.length == 5 && f[1].equals("rw-p") && f[4].equals("0")) {
                    int dash = f[0].indexOf('-');
                    regions.add(new Region(Long.parseUnsignedLong(f[0].substring(0, dash), 16),
                            Long.parseUnsignedLong(f[0].substring(dash + 1), 16)));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read /proc/self/maps", e);
        }
        return regions;
    }

    /**
     * The memory in {@code after} at addresses no mapping of {@code before} covered, in ranges of
     * at least {@link #MIN_BYTES}: what the driver mapped for its host copy during a CUDA
     * checkpoint. {@code before} must list every mapping ({@link #allMappings()}): a range that
     * was reserved before (the JVM commits its heap into a reservation) belongs to someone else.
     */
    public static List<Region> newlyMapped(List<Region> before, List<Region> after) {
        List<Region> added = new ArrayList<>();
        for (Region a : after) {
            long from = a.start();
            // subtract every old range from this one (ranges do not overlap within one list)
            List<Region> old = before.stream().filter(b -> b.end() > a.start() && b.start() < a.end())
                    .sorted(java.util.Comparator.comparingLong(Region::start)).toList();
            for (Region b : old) {
                if (b.start() > from) {
                    added.add(new Region(from, b.start()));
                }
                from = Math.max(from, b.end());
            }
            if (from < a.end()) {
                added.add(new Region(from, a.end()));
            }
        }
        // A thread's malloc arena is a 64 MiB-aligned block whose read-write part starts at the
        // block's start; one made during the checkpoint (by a driver thread) merges with a mapping
        // that ends right below it, so the top of a range up to a 64 MiB boundary may be an arena
        // in use. It stays with CRIU.
        return added.stream().map(r -> new Region(r.start(), Math.max(r.start(), r.end() & -ARENA)))
                .filter(r -> r.bytes() >= MIN_BYTES).toList();
    }

    private static final long ARENA = 64L << 20;

    /**
     * Writes {@code regions} into {@code dir}, in parallel, then drops their pages. On a failure
     * nothing is dropped and the partial files are removed.
     */
    public static void save(List<Region> regions, Path dir) throws IOException {
        try {
            parallel(regions, dir, true);
        } catch (IOException | RuntimeException e) {
            for (int n = 0; n < regions.size(); n++) {
                for (Path file : files(dir, n, regions.get(n).bytes())) {
                    Files.deleteIfExists(file);
                }
            }
            throw e;
        }
        for (Region r : regions) {
            LibC.madvise(r.start(), r.bytes(), LibC.MADV_DONTNEED);
        }
    }

    /**
     * Reads the regions back from {@code dir} into this process's memory, in parallel, into pages
     * advised to be huge. Each region must be mapped (CRIU restores the mapping without its pages).
     */
    public static void load(List<Region> regions, Path dir) throws IOException {
        List<Region> mapped = anonymousRegions();
        for (int n = 0; n < regions.size(); n++) {
            Region r = regions.get(n);
            if (mapped.stream().noneMatch(m -> m.start() <= r.start() && r.end() <= m.end())) {
                throw new IOException("the memory " + r + " that GPU memory file " + n + " belongs in is not mapped");
            }
            List<Path> files = files(dir, n, r.bytes());
            long part = partBytes(r.bytes());
            for (int k = 0; k < files.size(); k++) {
                long expected = Math.min(part, r.bytes() - k * part);
                long size = Files.isRegularFile(files.get(k)) ? Files.size(files.get(k)) : -1;
                if (size != expected) {
                    throw new IOException("GPU memory file " + files.get(k) + (size < 0 ? " is missing"
                            : " holds " + size + " bytes, not " + expected) + ": the image is incomplete");
                }
            }
            try {
                LibC.madvise(r.start(), r.bytes(), LibC.MADV_HUGEPAGE);
            } catch (RuntimeException e) {
                // a kernel without transparent huge pages: small pages, slower, still right
            }
        }
        parallel(regions, dir, false);
    }

    /**
     * Region {@code n}'s bytes are cut into up to {@value #PARTS} parts of whole chunks, each in a
     * file of its own ({@code gpu-memory-<n>-<k>.bin}): a buffered write holds its file's lock, so
     * writers of one file queue behind each other (17.7 GB into one file by 8 threads: 1.86 GB/s on
     * the H200 host, against 12-19 GB/s for Cryo's device memory spread over 8 files).
     */
    static final int PARTS = 8;

    /** The bytes of each part but the last of a region of {@code bytes}. */
    static long partBytes(long bytes) {
        long part = (bytes + PARTS - 1) / PARTS;
        return Math.max(CHUNK, (part + CHUNK - 1) / CHUNK * CHUNK);
    }

    /** Every file that holds {@code regions}, in order. */
    public static List<Path> files(List<Region> regions, Path dir) {
        List<Path> files = new ArrayList<>();
        for (int n = 0; n < regions.size(); n++) {
            files.addAll(files(dir, n, regions.get(n).bytes()));
        }
        return files;
    }

    /** The files region {@code n} of {@code bytes} is kept in, in order. */
    static List<Path> files(Path dir, int n, long bytes) {
        List<Path> files = new ArrayList<>();
        long part = partBytes(bytes);
        for (int k = 0; (long) k * part < bytes; k++) {
            files.add(dir.resolve("gpu-memory-" + n + "-" + k + ".bin"));
        }
        return files;
    }

    /*
     * Direct I/O (-Dcryo.gpu.memoryFiles.direct=true) writes past the page cache: measured against
     * it on the H200 host (device/results), kept as an option because the next restore on the same
     * machine then reads the disk instead of memory.
     */
    private static final boolean DIRECT = Boolean.getBoolean("cryo.gpu.memoryFiles.direct");

    private static FileChannel create(Path file) throws IOException {
        if (DIRECT) {
            try {
                return FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                        com.sun.nio.file.ExtendedOpenOption.DIRECT);
            } catch (UnsupportedOperationException | IOException e) {
                Files.deleteIfExists(file); // a file system without O_DIRECT (tmpfs): buffered
            }
        }
        return FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    }

    @SuppressWarnings("restricted")
    private static void parallel(List<Region> regions, Path dir, boolean write) throws IOException {
        int threads = Math.max(1, Math.min(8, Runtime.getRuntime().availableProcessors()));
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "cryo-gpu-memory-io");
            t.setDaemon(true);
            return t;
        });
        List<FileChannel> channels = new ArrayList<>();
        try {
            // One job per chunk, taken part by part in turn, so that every file has a writer.
            record Job(FileChannel ch, Path file, MemorySegment memory, long at) {}
            List<List<Job>> perPart = new ArrayList<>();
            for (int n = 0; n < regions.size(); n++) {
                Region r = regions.get(n);
                List<Path> files = files(dir, n, r.bytes());
                long part = partBytes(r.bytes());
                for (int k = 0; k < files.size(); k++) {
                    Path file = files.get(k);
                    FileChannel ch = write ? create(file) : FileChannel.open(file, StandardOpenOption.READ);
                    channels.add(ch);
                    long from = k * part;
                    long len = Math.min(part, r.bytes() - from);
                    MemorySegment memory = MemorySegment.ofAddress(r.start() + from).reinterpret(len);
                    List<Job> jobs = new ArrayList<>();
                    for (long off = 0; off < len; off += CHUNK) {
                        jobs.add(new Job(ch, file, memory.asSlice(off, Math.min(CHUNK, len - off)), off));
                    }
                    perPart.add(jobs);
                }
            }
            List<Future<?>> jobs = new ArrayList<>();
            for (int i = 0; perPart.stream().anyMatch(jobList -> !jobList.isEmpty()); i++) {
                for (List<Job> jobList : perPart) {
                    if (jobList.isEmpty()) {
                        continue;
                    }
                    Job job = jobList.remove(0);
                    jobs.add(pool.submit(() -> {
                        ByteBuffer buf = job.memory().asByteBuffer();
                        while (buf.hasRemaining()) {
                            int done = write ? job.ch().write(buf, job.at() + buf.position())
                                    : job.ch().read(buf, job.at() + buf.position());
                            if (done < 0) {
                                throw new IOException(job.file() + " ends before offset " + (job.at()
                                        + buf.position()) + ": the file was cut short");
                            }
                        }
                        return null;
                    }));
                }
            }
            for (Future<?> job : jobs) {
                job.get();
            }
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            throw cause instanceof IOException io ? io : new IOException(cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while " + (write ? "writing" : "reading") + " GPU memory files", e);
        } finally {
            pool.shutdownNow();
            for (FileChannel ch : channels) {
                ch.close();
            }
        }
    }
}
