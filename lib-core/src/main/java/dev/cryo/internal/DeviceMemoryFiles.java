package dev.cryo.internal;

import dev.cryo.internal.os.LibC;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntFunction;
import java.util.zip.CRC32C;

/**
 * Device memory that Cryo moves itself, in files of the image: copied out through a ring of pinned
 * host buffers on several streams and written by parallel writers, and filled back by parallel
 * readers through the ring (or from the files mapped and pinned read-only), one pipeline per GPU,
 * all at once.
 *
 * <p>Layout: each range is cut into chunks of {@code chunkBytes} (the last one of a range shorter);
 * the chunks, numbered in order over all ranges, go round-robin into {@code files} files
 * {@code device-memory-<f>.bin}, each appended in chunk order. Several files because a buffered
 * write holds its file's lock: writers of one file queue behind each other. Every chunk has a
 * CRC32C, checked when it is read back. All of it is a {@link Layout}, recorded in the image's
 * metadata, from which the same plan is computed again.
 */
public final class DeviceMemoryFiles {

    /**
     * A range of device memory.
     *
     * @param gpu     the device ordinal
     * @param address the device address
     * @param bytes   its size
     */
    public record Range(int gpu, long address, long bytes) {}

    /**
     * How the pipelines run. The defaults are what filled 16 GiB fastest on the H200 (2026-12-02,
     * {@code device/results/2026-12-02-h200-small-chunks}): 4 MiB chunks in a ring of 32 (128 MiB)
     * filled at 34-46 GB/s where 32 MiB chunks in a ring of 16 (512 MiB) ran at 21-23: a chunk just
     * read is still in the CPU's last-level cache when the GPU copies it, so it crosses main memory
     * once instead of three times. A larger ring (64), a smaller one (16), 2 MiB chunks, 8 or 16
     * readers, 8 streams, readers copying from the files mapped, and the files' checksums checked
     * ahead (while the driver restores) were each measured slower or no faster.
     *
     * @param chunkBytes one ring buffer, one copy, one checksum
     * @param files      files the chunks are spread over
     * @param slots      ring buffers per GPU
     * @param threads    writers (copy out) or readers (fill) per GPU
     * @param streams    copy streams per GPU
     * @param verify     check each chunk's CRC32C when filling
     * @param mapped     fill from the files mapped and pinned read-only instead of through the ring.
     *                   Slower on the H200: pinning the page cache's pages of 16 GiB took 425-865 ms
     *                   and the copies did not overlap it (16.3-17.3 GB/s in all, 2026-12-02)
     */
    public record Settings(long chunkBytes, int files, int slots, int threads, int streams, boolean verify,
            boolean mapped) {
        /** The defaults, each overridable by a system property {@code cryo.deviceMemory.<name>}. */
        public static Settings fromSystemProperties() {
            int cores = Runtime.getRuntime().availableProcessors();
            return new Settings(Long.getLong("cryo.deviceMemory.chunkMiB", 4) << 20,
                    Integer.getInteger("cryo.deviceMemory.files", 8),
                    Integer.getInteger("cryo.deviceMemory.slots", 32),
                    Integer.getInteger("cryo.deviceMemory.threads", Math.max(2, Math.min(12, cores))),
                    Integer.getInteger("cryo.deviceMemory.streams", 4),
                    Boolean.parseBoolean(System.getProperty("cryo.deviceMemory.verify", "true")),
                    Boolean.parseBoolean(System.getProperty("cryo.deviceMemory.mapped", "false")));
        }

        /**
         * These settings for an image whose chunks are {@code bytes} long (an image keeps the chunk
         * size it was written with): ring buffers of that size, as many as make about the same ring
         * but never more than {@code slots} (the copies' events are made for that many) and at
         * least 16 where there are (16 x 32 MiB was the default before 4 MiB).
         */
        Settings forChunks(long bytes) {
            if (bytes == chunkBytes) {
                return this;
            }
            int n = (int) Math.max(Math.min(16, slots), Math.min(slots, slots * chunkBytes / bytes));
            return new Settings(bytes, files, n, threads, streams, verify, mapped);
        }
    }

    /**
     * Device memory in files of an image.
     *
     * @param ranges     the memory, in the order of its chunks
     * @param chunkBytes the size of a chunk (the last one of a range may be shorter)
     * @param files      how many files the chunks are spread over
     * @param crc32c     each chunk's CRC32C, in chunk order
     */
    public record Layout(List<Range> ranges, long chunkBytes, int files, List<Integer> crc32c) {
        /** No device memory. */
        public static final Layout NONE = new Layout(List.of(), 0, 0, List.of());

        public Layout {
            ranges = List.copyOf(ranges);
            crc32c = List.copyOf(crc32c);
        }

        /** Whether it holds no memory. */
        public boolean isEmpty() {
            return ranges.isEmpty();
        }

        /** The bytes of device memory it holds. */
        public long bytes() {
            return ranges.stream().mapToLong(Range::bytes).sum();
        }

        List<Chunk> plan() {
            return DeviceMemoryFiles.plan(ranges, chunkBytes, files);
        }
    }

    /** One chunk: where it lives on the device and in which file, at which offset. */
    record Chunk(int index, int gpu, long device, long length, int file, long offset) {}

    private DeviceMemoryFiles() {}

    static Path file(Path dir, int f) {
        return dir.resolve("device-memory-" + f + ".bin");
    }

    /** The chunks of {@code ranges}, in order, and where each goes. */
    static List<Chunk> plan(List<Range> ranges, long chunkBytes, int files) {
        List<Chunk> chunks = new ArrayList<>();
        long[] fileBytes = new long[files];
        for (Range r : ranges) {
            for (long off = 0; off < r.bytes(); off += chunkBytes) {
                int i = chunks.size();
                int f = i % files;
                long len = Math.min(chunkBytes, r.bytes() - off);
                chunks.add(new Chunk(i, r.gpu(), r.address() + off, len, f, fileBytes[f]));
                fileBytes[f] += len;
            }
        }
        return chunks;
    }

    /** Each file's size in bytes under {@code plan}. */
    static long[] fileSizes(List<Chunk> plan, int files) {
        long[] sizes = new long[files];
        for (Chunk c : plan) {
            sizes[c.file()] = Math.max(sizes[c.file()], c.offset() + c.length());
        }
        return sizes;
    }

    /**
     * Copies {@code ranges} out of the device into files in {@code dir} (which must not hold them
     * yet). On a failure the partial files are removed.
     *
     * @param copies the device side for a GPU, created on the pipeline's thread
     * @return where the memory is, with its checksums
     */
    public static Layout save(List<Range> ranges, Path dir, IntFunction<DeviceCopies> copies,
            Settings settings) throws IOException {
        List<Chunk> plan = plan(ranges, settings.chunkBytes(), settings.files());
        int[] crcs = new int[plan.size()];
        List<FileChannel> channels = new ArrayList<>();
        try {
            for (int f = 0; f < settings.files(); f++) {
                channels.add(FileChannel.open(file(dir, f), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
            }
            perGpu(plan, gpuChunks -> copyOut(gpuChunks, channels, crcs, copies, settings));
        } catch (IOException | RuntimeException e) {
            closeAll(channels, e);
            for (int f = 0; f < settings.files(); f++) {
                Files.deleteIfExists(file(dir, f));
            }
            throw e;
        }
        closeAll(channels, null);
        return new Layout(ranges, settings.chunkBytes(), settings.files(),
                java.util.Arrays.stream(crcs).boxed().toList());
    }

    /**
     * What keeps the files in {@code dir} from filling the device memory {@code layout} describes:
     * a file missing or of the wrong size, or checksums missing. Empty when none. Checks sizes
     * only; the contents are checked while filling.
     */
    public static Optional<String> problem(Layout layout, Path dir) {
        if (layout.isEmpty()) {
            return Optional.empty();
        }
        try {
            List<Chunk> plan = layout.plan();
            if (layout.crc32c().size() != plan.size()) {
                return Optional.of("the image's metadata lists " + layout.crc32c().size() + " device memory"
                        + " checksums for " + plan.size() + " chunks");
            }
            long[] sizes = fileSizes(plan, layout.files());
            for (int f = 0; f < sizes.length; f++) {
                Path p = file(dir, f);
                if (!Files.isRegularFile(p)) {
                    return Optional.of("the device memory file " + p + " is missing");
                }
                long size = Files.size(p);
                if (size != sizes[f]) {
                    return Optional.of(String.format(Locale.ROOT, "the device memory file %s holds %d bytes, not %d"
                            + " (%s)", p, size, sizes[f], size < sizes[f] ? "cut short" : "too long"));
                }
            }
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.of("the device memory files in " + dir + " cannot be checked: " + e);
        }
    }

    /** The files that hold the device memory {@code layout} describes, in {@code dir}. */
    public static List<Path> files(Layout layout, Path dir) {
        List<Path> files = new ArrayList<>();
        for (int f = 0; f < layout.files(); f++) {
            files.add(file(dir, f));
        }
        return files;
    }

    /**
     * Asks the kernel to read {@code files} ahead into the page cache and returns at once: each
     * file's advice runs on a daemon thread of its own, since the advice itself takes 50-90 ms for
     * 16 GiB already cached and 350-475 ms for 16 GiB on disk (measured on the H200 machine), time
     * the launcher would otherwise wait before CRIU starts. Best effort: errors are ignored.
     */
    public static void readAhead(List<Path> files) {
        for (Path file : files) {
            Thread.ofPlatform().daemon().name("cryo-readahead").start(() -> LibC.adviseWillNeed(file.toString()));
        }
    }

    /**
     * Fills the device memory {@code layout} describes (mapped already) from the files in
     * {@code dir}, every chunk's checksum checked when {@code settings.verify()}.
     *
     * @throws IOException naming the file that is missing, short or corrupt
     */
    public static void load(Layout layout, Path dir, IntFunction<DeviceCopies> copies, Settings wanted)
            throws IOException {
        Settings settings = wanted.forChunks(layout.chunkBytes());
        Optional<String> problem = problem(layout, dir);
        if (problem.isPresent()) {
            throw new IOException(problem.get());
        }
        List<Chunk> plan = layout.plan();
        int[] crcs = layout.crc32c().stream().mapToInt(Integer::intValue).toArray();
        List<FileChannel> channels = new ArrayList<>();
        try {
            for (int f = 0; f < layout.files(); f++) {
                channels.add(FileChannel.open(file(dir, f), StandardOpenOption.READ));
            }
            List<Path> paths = files(layout, dir);
            perGpu(plan, gpuChunks -> {
                if (settings.mapped()) {
                    fillMapped(gpuChunks, paths, channels, crcs, copies, settings);
                } else {
                    fillThroughRing(gpuChunks, paths, channels, crcs, copies, settings);
                }
            });
        } catch (IOException | RuntimeException e) {
            closeAll(channels, e);
            throw e;
        }
        closeAll(channels, null);
    }

    /**
     * Fills {@code bytes} of device memory at {@code device} on {@code gpu} from the start of
     * {@code file}, without checksums (a file of the app's own, such as its weights).
     */
    public static void fill(int gpu, long device, long bytes, Path file, IntFunction<DeviceCopies> copies,
            Settings settings) throws IOException {
        long size = Files.size(file);
        if (size < bytes) {
            throw new IOException(file + " holds " + size + " bytes, fewer than the " + bytes + " to read");
        }
        List<Chunk> plan = plan(List.of(new Range(gpu, device, bytes)), settings.chunkBytes(), 1);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Settings s = new Settings(settings.chunkBytes(), 1, settings.slots(), settings.threads(), settings.streams(),
                    false, settings.mapped());
            if (s.mapped()) {
                fillMapped(plan, List.of(file), List.of(ch), null, copies, s);
            } else {
                fillThroughRing(plan, List.of(file), List.of(ch), null, copies, s);
            }
        }
    }

    @FunctionalInterface
    private interface GpuWork {
        void run(List<Chunk> chunks) throws IOException;
    }

    /** Runs {@code work} for each GPU's chunks, one thread per GPU, all at once; the first failure is thrown. */
    private static void perGpu(List<Chunk> plan, GpuWork work) throws IOException {
        TreeSet<Integer> gpus = new TreeSet<>();
        plan.forEach(c -> gpus.add(c.gpu()));
        List<Thread> threads = new ArrayList<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int gpu : gpus) {
            List<Chunk> mine = plan.stream().filter(c -> c.gpu() == gpu).toList();
            Thread t = daemon(() -> {
                try {
                    work.run(mine);
                } catch (Throwable e) {
                    if (!failure.compareAndSet(null, e)) {
                        failure.get().addSuppressed(e);
                    }
                }
            }, "cryo-device-memory-gpu" + gpu);
            threads.add(t);
        }
        for (Thread t : threads) {
            join(t);
        }
        rethrow(failure.get());
    }

    /** Starts {@code work} on a daemon thread named {@code name}. */
    private static Thread daemon(Runnable work, String name) {
        return Thread.ofPlatform().name(name).daemon().start(work);
    }

    private static void join(Thread t) {
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the pipeline must end before its buffers go
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** The ring: {@code slots} buffers of {@code chunkBytes} in one block, advised huge and pinned. */
    private static final class Ring implements AutoCloseable {
        final MemorySegment block;
        final DeviceCopies copies;
        final long chunkBytes;
        boolean pinned;

        Ring(DeviceCopies copies, int slots, long chunkBytes) {
            this.copies = copies;
            this.chunkBytes = chunkBytes;
            block = LibC.mapAnonymous(slots * chunkBytes);
            try {
                LibC.madvise(block.address(), block.byteSize(), LibC.MADV_HUGEPAGE);
            } catch (RuntimeException e) {
                // without transparent huge pages: small pages, slower to pin, still right
            }
            try {
                copies.pin(block, false);
            } catch (RuntimeException e) {
                LibC.unmap(block);
                throw e;
            }
            pinned = true;
        }

        MemorySegment slot(int s, long length) {
            return block.asSlice(s * chunkBytes, length);
        }

        @Override
        public void close() {
            try {
                copies.awaitAll(); // no copy may still touch the buffers being freed
                if (pinned) {
                    copies.unpin(block);
                }
            } finally {
                LibC.unmap(block);
            }
        }
    }

    private static final Object END = new Object();

    private static void copyOut(List<Chunk> chunks, List<FileChannel> channels, int[] crcs,
            IntFunction<DeviceCopies> factory, Settings s) throws IOException {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try (DeviceCopies copies = factory.apply(chunks.get(0).gpu()); Ring ring = new Ring(copies, s.slots(), s.chunkBytes())) {
            BlockingQueue<Integer> free = new ArrayBlockingQueue<>(s.slots());
            for (int i = 0; i < s.slots(); i++) {
                free.add(i);
            }
            BlockingQueue<Object> work = new LinkedBlockingQueue<>();
            List<Thread> writers = new ArrayList<>();
            for (int w = 0; w < s.threads(); w++) {
                Thread t = daemon(() -> {
                    try {
                        copies.attach();
                        while (true) {
                            Object job = work.take();
                            if (job == END) {
                                return;
                            }
                            int[] cs = (int[]) job; // chunk index, slot
                            Chunk c = chunks.get(cs[0]);
                            copies.await(cs[1]);
                            MemorySegment buf = ring.slot(cs[1], c.length());
                            crcs[c.index()] = writeSummed(channels.get(c.file()), buf, c.offset());
                            free.put(cs[1]);
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }, "cryo-device-memory-writer");
                writers.add(t);
            }
            try {
                for (int i = 0; i < chunks.size() && failure.get() == null; i++) {
                    Integer slot = null;
                    while (slot == null && failure.get() == null) {
                        slot = free.poll(50, TimeUnit.MILLISECONDS);
                    }
                    if (slot == null) {
                        break;
                    }
                    Chunk c = chunks.get(i);
                    copies.toHost(c.device(), ring.slot(slot, c.length()), slot);
                    work.put(new int[] {i, slot});
                }
            } catch (InterruptedException e) {
                failure.compareAndSet(null, e);
            } catch (RuntimeException e) {
                failure.compareAndSet(null, e);
            } finally {
                for (int w = 0; w < writers.size(); w++) {
                    work.add(END);
                }
                writers.forEach(DeviceMemoryFiles::join);
            }
        }
        rethrow(failure.get());
    }

    /*
     * A chunk is summed and moved one slice at a time: the slice the CRC just read is still in the
     * CPU's cache when it is written out (or was just read in), so each byte crosses main memory once
     * less. On the H200 host, whose memory bandwidth is shared with the DMA and other tenants, that
     * pass is what bounds the pipeline.
     */
    private static final long SLICE = 1L << 20;

    /** Writes {@code data} at {@code at}, returning its CRC32C. */
    private static int writeSummed(FileChannel ch, MemorySegment data, long at) throws IOException {
        CRC32C crc = new CRC32C();
        for (long off = 0; off < data.byteSize(); off += SLICE) {
            ByteBuffer slice = data.asSlice(off, Math.min(SLICE, data.byteSize() - off)).asByteBuffer();
            crc.update(slice.duplicate());
            write(ch, slice, at + off);
        }
        return (int) crc.getValue();
    }

    /** Reads chunk {@code c} into {@code buf}, checking its CRC32C as it arrives when {@code crcs} is set. */
    private static void readChecked(Chunk c, FileChannel ch, MemorySegment buf, int[] crcs, List<Path> paths)
            throws IOException {
        CRC32C crc = new CRC32C();
        Path file = paths.get(c.file());
        for (long off = 0; off < buf.byteSize(); off += SLICE) {
            ByteBuffer slice = buf.asSlice(off, Math.min(SLICE, buf.byteSize() - off)).asByteBuffer();
            read(ch, slice, c.offset() + off, file);
            if (crcs != null) {
                crc.update(slice.flip());
            }
        }
        if (crcs != null) {
            compare(c, (int) crc.getValue(), crcs, paths);
        }
    }

    private static void write(FileChannel ch, ByteBuffer buf, long at) throws IOException {
        long pos = at;
        while (buf.hasRemaining()) {
            pos += ch.write(buf, pos);
        }
    }

    private static void read(FileChannel ch, ByteBuffer buf, long at, Path file) throws IOException {
        long pos = at;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new IOException(file + " ends at " + pos + ", before the " + buf.remaining()
                        + " more bytes expected: the file was cut short");
            }
            pos += n;
        }
    }

    private static void check(Chunk c, MemorySegment data, int[] crcs, List<Path> paths) throws IOException {
        if (crcs == null) {
            return;
        }
        CRC32C crc = new CRC32C();
        crc.update(data.asByteBuffer());
        compare(c, (int) crc.getValue(), crcs, paths);
    }

    private static void compare(Chunk c, int crc, int[] crcs, List<Path> paths) throws IOException {
        if (crc != crcs[c.index()]) {
            throw new IOException(String.format(Locale.ROOT, "the device memory file %s is corrupt: %d bytes at"
                    + " offset %d have CRC32C %08x, the image recorded %08x", paths.get(c.file()), c.length(),
                    c.offset(), crc, crcs[c.index()]));
        }
    }

    private static void fillThroughRing(List<Chunk> chunks, List<Path> paths, List<FileChannel> channels, int[] crcs,
            IntFunction<DeviceCopies> factory, Settings s) throws IOException {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        int[] verify = s.verify() ? crcs : null;
        try (DeviceCopies copies = factory.apply(chunks.get(0).gpu()); Ring ring = new Ring(copies, s.slots(), s.chunkBytes())) {
            BlockingQueue<Integer> free = new ArrayBlockingQueue<>(s.slots());
            for (int i = 0; i < s.slots(); i++) {
                free.add(i);
            }
            CountDownLatch[] ready = new CountDownLatch[chunks.size()];
            int[] slotOf = new int[chunks.size()];
            for (int i = 0; i < ready.length; i++) {
                ready[i] = new CountDownLatch(1);
            }
            AtomicInteger next = new AtomicInteger();
            List<Thread> readers = new ArrayList<>();
            for (int r = 0; r < s.threads(); r++) {
                Thread t = daemon(() -> {
                    try {
                        while (failure.get() == null) {
                            // The slot first, then the chunk: every chunk claimed has a buffer, so
                            // the lowest one not copied yet always gets done.
                            Integer slot = free.poll(50, TimeUnit.MILLISECONDS);
                            if (slot == null) {
                                continue;
                            }
                            int i = next.getAndIncrement();
                            if (i >= chunks.size()) {
                                free.put(slot);
                                return;
                            }
                            Chunk c = chunks.get(i);
                            MemorySegment buf = ring.slot(slot, c.length());
                            readChecked(c, channels.get(c.file()), buf, verify, paths);
                            slotOf[i] = slot;
                            ready[i].countDown();
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }, "cryo-device-memory-reader");
                readers.add(t);
            }
            ArrayDeque<Integer> inFlight = new ArrayDeque<>();
            try {
                for (int i = 0; i < chunks.size() && failure.get() == null; i++) {
                    while (!ready[i].await(0, TimeUnit.MILLISECONDS) && failure.get() == null) {
                        // The readers wait for buffers: give back the oldest once its copy is done.
                        if (!inFlight.isEmpty()) {
                            copies.await(inFlight.peek());
                            free.put(inFlight.poll());
                        } else {
                            ready[i].await(20, TimeUnit.MILLISECONDS);
                        }
                    }
                    if (failure.get() != null) {
                        break;
                    }
                    Chunk c = chunks.get(i);
                    copies.toDevice(ring.slot(slotOf[i], c.length()), c.device(), slotOf[i]);
                    inFlight.add(slotOf[i]);
                    while (!inFlight.isEmpty() && copies.reached(inFlight.peek())) {
                        free.put(inFlight.poll());
                    }
                }
                copies.awaitAll();
                free.addAll(inFlight);
                inFlight.clear();
            } catch (InterruptedException | RuntimeException e) {
                failure.compareAndSet(null, e);
            } finally {
                readers.forEach(DeviceMemoryFiles::join);
            }
        }
        rethrow(failure.get());
    }

    /** Part of one file, registered at once: whole chunks, cut only at page-aligned offsets. */
    record Piece(int file, long offset, long length, List<Chunk> chunks) {}

    private static final long PAGE = 4096;

    /** {@code chunks} (of several files) as pieces of at least {@code pieceBytes}, file by file. */
    static List<Piece> pieces(List<Chunk> chunks, long pieceBytes) {
        List<Piece> pieces = new ArrayList<>();
        TreeSet<Integer> files = new TreeSet<>();
        chunks.forEach(c -> files.add(c.file()));
        for (int f : files) {
            List<Chunk> current = new ArrayList<>();
            for (Chunk c : chunks) {
                if (c.file() != f) {
                    continue;
                }
                long start = current.isEmpty() ? 0 : current.get(0).offset();
                if (!current.isEmpty() && c.offset() - start >= pieceBytes && c.offset() % PAGE == 0) {
                    pieces.add(piece(f, current));
                    current = new ArrayList<>();
                }
                current.add(c);
            }
            if (!current.isEmpty()) {
                pieces.add(piece(f, current));
            }
        }
        return pieces;
    }

    private static Piece piece(int file, List<Chunk> chunks) {
        long from = chunks.get(0).offset() / PAGE * PAGE;
        Chunk last = chunks.get(chunks.size() - 1);
        return new Piece(file, from, last.offset() + last.length() - from, List.copyOf(chunks));
    }

    /**
     * Fills from the files mapped read-only: each piece (about 1 GiB) is registered with the device
     * (pinning the page cache's own pages, no copy through a ring), and its copies start while the
     * next pieces are registered. Checksums are checked by other threads meanwhile.
     */
    @SuppressWarnings("restricted")
    private static void fillMapped(List<Chunk> chunks, List<Path> paths, List<FileChannel> channels, int[] crcs,
            IntFunction<DeviceCopies> factory, Settings s) throws IOException {
        int[] verify = s.verify() ? crcs : null;
        ExecutorService helpers = Executors.newFixedThreadPool(s.threads(),
                Thread.ofPlatform().name("cryo-device-memory-check").daemon().factory());
        ExecutorService registrars = Executors.newFixedThreadPool(Integer.getInteger("cryo.deviceMemory.registerThreads",
                2), Thread.ofPlatform().name("cryo-device-memory-register").daemon().factory());
        List<Future<?>> checks = new ArrayList<>();
        List<Future<MemorySegment>> registered = new ArrayList<>();
        try (DeviceCopies copies = factory.apply(chunks.get(0).gpu()); Arena arena = Arena.ofShared()) {
            try {
                MemorySegment[] maps = new MemorySegment[channels.size()];
                List<Piece> pieces = pieces(chunks, Long.getLong("cryo.deviceMemory.pieceMiB", 1024) << 20);
                for (Piece p : pieces) {
                    if (maps[p.file()] == null) {
                        FileChannel ch = channels.get(p.file());
                        maps[p.file()] = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
                    }
                    // The mapping covers whole pages: a piece ending inside the last one is pinned to its end.
                    MemorySegment range = MemorySegment.ofAddress(maps[p.file()].address() + p.offset())
                            .reinterpret((p.length() + PAGE - 1) / PAGE * PAGE);
                    registered.add(registrars.submit(() -> {
                        copies.attach();
                        copies.pin(range, true);
                        return range;
                    }));
                }
                for (int i = 0; i < pieces.size(); i++) {
                    registered.get(i).get();
                    for (Chunk c : pieces.get(i).chunks()) {
                        MemorySegment data = maps[c.file()].asSlice(c.offset(), c.length());
                        copies.toDevice(data, c.device(), c.index() % s.slots());
                        if (verify != null) {
                            checks.add(helpers.submit(() -> {
                                check(c, data, verify, paths);
                                return null;
                            }));
                        }
                    }
                }
                copies.awaitAll();
                for (Future<?> check : checks) {
                    check.get();
                }
            } catch (java.util.concurrent.ExecutionException e) {
                rethrow(e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while filling device memory", e);
            } finally {
                copies.awaitAll();
                for (Future<MemorySegment> r : registered) {
                    try {
                        copies.unpin(r.get());
                    } catch (java.util.concurrent.ExecutionException | InterruptedException | RuntimeException e) {
                        // not registered, or already failing: nothing to undo
                    }
                }
            }
        } finally {
            helpers.shutdownNow();
            registrars.shutdownNow();
        }
    }

    private static void rethrow(Throwable e) throws IOException {
        if (e == null) {
            return;
        }
        if (e instanceof IOException io) {
            throw io;
        }
        if (e instanceof RuntimeException re) {
            throw re;
        }
        if (e instanceof Error err) {
            throw err;
        }
        if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
        }
        throw new IOException(e);
    }

    private static void closeAll(List<FileChannel> channels, Exception failure) throws IOException {
        for (FileChannel ch : channels) {
            try {
                ch.close();
            } catch (IOException e) {
                if (failure != null) {
                    failure.addSuppressed(e);
                } else {
                    throw e;
                }
            }
        }
    }
}
