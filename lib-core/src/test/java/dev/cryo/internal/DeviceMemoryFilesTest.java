package dev.cryo.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The device memory pipelines on the CPU, with real files: the "device" is host memory, and its
 * copies run asynchronously on executor "streams" that finish in any order, as a GPU's streams do.
 * This tests the scheduling (ring slots, readers, writers, ordering), the file layout and the
 * checksums; device/gpu-arena-bench.sh runs the same code against a GPU.
 */
@Timeout(60)
class DeviceMemoryFilesTest {
    private static final long CHUNK = 1L << 20;

    @TempDir
    Path dir;

    private final Arena arena = Arena.ofShared();

    @AfterEach
    void free() {
        arena.close();
    }

    /** Host memory as the device: copies queued on a few single-thread "streams", each slot's last copy remembered. */
    static final class HostCopies implements DeviceCopies {
        private final ExecutorService[] streams;
        private final Future<?>[] last;
        private final SplittableRandom random = new SplittableRandom(7);
        final AtomicInteger copies = new AtomicInteger();
        int failAt = -1;

        HostCopies(int streamCount, int slots) {
            streams = new ExecutorService[streamCount];
            for (int i = 0; i < streamCount; i++) {
                streams[i] = Executors.newSingleThreadExecutor();
            }
            last = new Future<?>[slots];
        }

        @Override
        public void attach() {}

        @Override
        public void pin(MemorySegment host, boolean readOnly) {}

        @Override
        public void unpin(MemorySegment host) {}

        private synchronized void queue(int slot, Runnable copy) {
            if (copies.incrementAndGet() == failAt) {
                throw new IllegalStateException("cuMemcpyAsync failed: CUDA_ERROR_ILLEGAL_ADDRESS (simulated)");
            }
            long delay = random.nextInt(300);
            last[slot] = streams[slot % streams.length].submit(() -> {
                java.util.concurrent.locks.LockSupport.parkNanos(delay * 1000);
                copy.run();
            });
        }

        @Override
        public void toHost(long device, MemorySegment host, int slot) {
            queue(slot, () -> MemorySegment.copy(device(device, host.byteSize()), 0, host, 0, host.byteSize()));
        }

        @Override
        public void toDevice(MemorySegment host, long device, int slot) {
            queue(slot, () -> MemorySegment.copy(host, 0, device(device, host.byteSize()), 0, host.byteSize()));
        }

        @SuppressWarnings("restricted")
        private static MemorySegment device(long address, long bytes) {
            return MemorySegment.ofAddress(address).reinterpret(bytes);
        }

        @Override
        public void await(int slot) {
            Future<?> f;
            synchronized (this) {
                f = last[slot];
            }
            try {
                f.get();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public synchronized boolean reached(int slot) {
            return last[slot] == null || last[slot].isDone();
        }

        @Override
        public void awaitAll() {
            for (int s = 0; s < last.length; s++) {
                if (last[s] != null) {
                    await(s);
                }
            }
        }

        @Override
        public void close() {
            for (ExecutorService s : streams) {
                s.shutdownNow();
            }
        }
    }

    private static DeviceMemoryFiles.Settings settings(boolean mapped) {
        return new DeviceMemoryFiles.Settings(CHUNK, 3, 4, 3, 2, true, mapped);
    }

    private MemorySegment device(long bytes, long seed) {
        MemorySegment m = arena.allocate(bytes, 4096);
        SplittableRandom r = new SplittableRandom(seed);
        for (long i = 0; i + 8 <= bytes; i += 8) {
            m.set(ValueLayout.JAVA_LONG_UNALIGNED, i, r.nextLong());
        }
        return m;
    }

    // Added to from each GPU's pipeline thread at once.
    private final List<HostCopies> made = new CopyOnWriteArrayList<>();

    private IntFunction<DeviceCopies> copies() {
        return g -> {
            HostCopies c = new HostCopies(2, 4);
            made.add(c);
            return c;
        };
    }

    /** Two GPUs' worth: ranges whose sizes are not multiples of the chunk. */
    private record Setup(MemorySegment a, MemorySegment b, MemorySegment c, List<DeviceMemoryFiles.Range> ranges) {}

    private Setup setup() {
        MemorySegment a = device(5 * CHUNK + 12345 * 8, 1);
        MemorySegment b = device(3 * CHUNK, 2);
        MemorySegment c = device(CHUNK / 2, 3);
        return new Setup(a, b, c, List.of(new DeviceMemoryFiles.Range(0, a.address(), a.byteSize()),
                new DeviceMemoryFiles.Range(1, b.address(), b.byteSize()),
                new DeviceMemoryFiles.Range(0, c.address(), c.byteSize())));
    }

    private static MemorySegment copyOf(MemorySegment m) {
        return Arena.ofAuto().allocate(m.byteSize()).copyFrom(m);
    }

    /** Zeroes the "device" memory of {@code s}, fills it with {@code fill}, and checks it against {@code originals}. */
    private static void refilled(Setup s, List<MemorySegment> originals, String how, IoAction fill) throws IOException {
        List<MemorySegment> device = List.of(s.a(), s.b(), s.c());
        device.forEach(m -> m.fill((byte) 0));
        fill.run();
        for (int i = 0; i < device.size(); i++) {
            assertEquals(-1, originals.get(i).mismatch(device.get(i)), how);
        }
    }

    @FunctionalInterface
    private interface IoAction {
        void run() throws IOException;
    }

    @Test
    @DisplayName("copied out and filled back, through the ring and from mapped files, bit for bit")
    void roundTrip() throws IOException {
        Setup s = setup();
        List<MemorySegment> originals = List.of(copyOf(s.a()), copyOf(s.b()), copyOf(s.c()));
        DeviceMemoryFiles.Layout meta = DeviceMemoryFiles.save(s.ranges(), dir, copies(), settings(false));
        assertEquals(s.ranges(), meta.ranges());
        assertEquals(10, meta.crc32c().size(), meta.toString());
        long total = 0;
        for (int f = 0; f < 3; f++) {
            total += Files.size(DeviceMemoryFiles.file(dir, f));
        }
        assertEquals(s.a().byteSize() + s.b().byteSize() + s.c().byteSize(), total);
        assertTrue(DeviceMemoryFiles.problem(meta, dir).isEmpty());
        for (boolean mapped : new boolean[] {false, true}) {
            refilled(s, originals, "mapped=" + mapped, () -> DeviceMemoryFiles.load(meta, dir, copies(), settings(mapped)));
        }
    }

    @Test
    @DisplayName("an image written with other chunks than the settings' (an older image): filled bit for bit")
    void otherChunks() throws IOException {
        Setup s = setup();
        List<MemorySegment> originals = List.of(copyOf(s.a()), copyOf(s.b()), copyOf(s.c()));
        DeviceMemoryFiles.Layout meta = DeviceMemoryFiles.save(s.ranges(), dir, copies(), settings(false));
        for (long chunk : new long[] {CHUNK / 4, CHUNK * 4}) {
            refilled(s, originals, "settings' chunk " + chunk, () -> DeviceMemoryFiles.load(meta, dir, copies(),
                    new DeviceMemoryFiles.Settings(chunk, 3, 4, 3, 2, true, false)));
        }
        DeviceMemoryFiles.Settings now = new DeviceMemoryFiles.Settings(4L << 20, 8, 32, 12, 4, true, false);
        DeviceMemoryFiles.Settings forOld = now.forChunks(32L << 20);
        assertEquals(32L << 20, forOld.chunkBytes());
        assertEquals(16, forOld.slots(), "an image of 32 MiB chunks: the ring of before, 16 x 32 MiB");
        assertEquals(16, new DeviceMemoryFiles.Settings(32L << 20, 8, 16, 12, 4, true, false).forChunks(4L << 20)
                .slots(), "never more buffers than the settings' slots");
    }

    @Test
    @DisplayName("one flipped byte in a file: the fill names the file and the offset, through either path")
    void corrupt() throws IOException {
        Setup s = setup();
        DeviceMemoryFiles.Layout meta = DeviceMemoryFiles.save(s.ranges(), dir, copies(), settings(false));
        Path f1 = DeviceMemoryFiles.file(dir, 1);
        try (FileChannel ch = FileChannel.open(f1, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            ch.read(one, CHUNK + 77);
            one.flip();
            one.put(0, (byte) (one.get(0) ^ 0x10));
            ch.write(one, CHUNK + 77);
        }
        assertTrue(DeviceMemoryFiles.problem(meta, dir).isEmpty(), "sizes are right: only the fill can tell");
        for (boolean mapped : new boolean[] {false, true}) {
            IOException e = assertThrows(IOException.class, () -> DeviceMemoryFiles.load(meta, dir, copies(), settings(mapped)));
            assertTrue(e.getMessage().contains("device-memory-1.bin is corrupt") && e.getMessage().contains("offset "
                    + CHUNK), e.getMessage());
        }
    }

    @Test
    @DisplayName("a file cut short or missing: named before any copy")
    void shortOrMissing() throws IOException {
        Setup s = setup();
        DeviceMemoryFiles.Layout meta = DeviceMemoryFiles.save(s.ranges(), dir, copies(), settings(false));
        Path f2 = DeviceMemoryFiles.file(dir, 2);
        try (FileChannel ch = FileChannel.open(f2, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 4096);
        }
        String problem = DeviceMemoryFiles.problem(meta, dir).orElseThrow();
        assertTrue(problem.contains("device-memory-2.bin") && problem.contains("cut short"), problem);
        int before = made.size();
        IOException e = assertThrows(IOException.class, () -> DeviceMemoryFiles.load(meta, dir, copies(), settings(false)));
        assertEquals(problem, e.getMessage());
        assertEquals(before, made.size(), "no pipeline was started");
        Files.delete(f2);
        assertTrue(DeviceMemoryFiles.problem(meta, dir).orElseThrow().contains("device-memory-2.bin is missing"));
    }

    @Test
    @DisplayName("a copy that fails on the way: the error comes out, no partial file is left, no thread hangs")
    void failingCopy() {
        Setup s = setup();
        IntFunction<DeviceCopies> failing = g -> {
            HostCopies c = new HostCopies(2, 4);
            c.failAt = 3;
            return c;
        };
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> DeviceMemoryFiles.save(s.ranges(), dir, failing, settings(false)));
        assertTrue(e.getMessage().contains("CUDA_ERROR_ILLEGAL_ADDRESS"), e.getMessage());
        for (int f = 0; f < 3; f++) {
            assertFalse(Files.exists(DeviceMemoryFiles.file(dir, f)));
        }
    }

    @Test
    @DisplayName("an app's own file (weights) read into device memory, and a file too short for it")
    void fillFromFile() throws IOException {
        MemorySegment source = device(7 * CHUNK + 999, 9);
        Path weights = dir.resolve("weights.bin");
        Files.write(weights, source.toArray(ValueLayout.JAVA_BYTE));
        for (boolean mapped : new boolean[] {false, true}) {
            MemorySegment target = arena.allocate(source.byteSize() - 999, 4096);
            DeviceMemoryFiles.fill(0, target.address(), target.byteSize(), weights, copies(), settings(mapped));
            assertEquals(-1, target.mismatch(source.asSlice(0, target.byteSize())));
        }
        MemorySegment tooBig = arena.allocate(8 * CHUNK, 4096);
        IOException e = assertThrows(IOException.class,
                () -> DeviceMemoryFiles.fill(0, tooBig.address(), tooBig.byteSize(), weights, copies(), settings(false)));
        assertTrue(e.getMessage().contains("fewer than"), e.getMessage());
    }

    @Test
    @DisplayName("pieces to register: whole chunks of one file, cut only at page-aligned offsets")
    void pieces() {
        List<DeviceMemoryFiles.Chunk> p = DeviceMemoryFiles.plan(List.of(new DeviceMemoryFiles.Range(0, 1L << 40,
                5 * CHUNK + 100), new DeviceMemoryFiles.Range(0, 2L << 40, 3 * CHUNK)), CHUNK, 2);
        List<DeviceMemoryFiles.Piece> pieces = DeviceMemoryFiles.pieces(p, 2 * CHUNK);
        // file 0 holds chunks 0, 2, 4, 6, 8; file 1 chunks 1, 3, 5 (100 bytes), 7 (which then starts off a page)
        assertEquals(List.of(0, 0, 0, 1, 1), pieces.stream().map(DeviceMemoryFiles.Piece::file).toList());
        assertEquals(List.of(0L, 2 * CHUNK, 4 * CHUNK, 0L, 2 * CHUNK),
                pieces.stream().map(DeviceMemoryFiles.Piece::offset).toList());
        assertEquals(List.of(2 * CHUNK, 2 * CHUNK, CHUNK, 2 * CHUNK, CHUNK + 100),
                pieces.stream().map(DeviceMemoryFiles.Piece::length).toList());
        for (int f = 0; f < 2; f++) {
            int file = f;
            assertEquals(p.stream().filter(c -> c.file() == file).toList(),
                    pieces.stream().filter(x -> x.file() == file).flatMap(x -> x.chunks().stream()).toList());
        }
    }

    @Test
    @DisplayName("the plan: chunks round-robin over the files, each file appended in order")
    void plan() {
        List<DeviceMemoryFiles.Chunk> p = DeviceMemoryFiles.plan(List.of(new DeviceMemoryFiles.Range(0, 1L << 40,
                2 * CHUNK + 10), new DeviceMemoryFiles.Range(0, 2L << 40, CHUNK)), CHUNK, 2);
        assertEquals(4, p.size());
        assertEquals(List.of(0, 1, 0, 1), p.stream().map(DeviceMemoryFiles.Chunk::file).toList());
        assertEquals(List.of(0L, 0L, CHUNK, CHUNK), p.stream().map(DeviceMemoryFiles.Chunk::offset).toList());
        assertEquals(List.of(CHUNK, CHUNK, 10L, CHUNK), p.stream().map(DeviceMemoryFiles.Chunk::length).toList());
        assertEquals(2L << 40, p.get(3).device());
        long[] sizes = DeviceMemoryFiles.fileSizes(p, 2);
        assertEquals(CHUNK + 10, sizes[0]);
        assertEquals(2 * CHUNK, sizes[1]);
    }
}
