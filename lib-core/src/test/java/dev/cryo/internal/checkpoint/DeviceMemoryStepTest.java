package dev.cryo.internal.checkpoint;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.ApiAccessForTests;
import dev.cryo.CheckpointOutcome;
import dev.cryo.internal.DeviceCopies;
import dev.cryo.internal.DeviceMemoryRegistry;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The device memory step and its ways back, with host memory standing in for the GPU's (CI has no
 * GPU): released memory is poisoned, as new physical memory would hold garbage, so only a fill
 * from the files brings the contents back. device/gpu-arena-bench.sh runs the step on an H200.
 */
@Timeout(60)
class DeviceMemoryStepTest {
    private static final long SIZE = (3L << 20) + 4096;
    private final ApiAccessForTests api = new ApiAccessForTests();
    private final Arena arena = Arena.ofShared();
    @TempDir
    Path dir;
    private DeviceMemoryRegistry.Allocation memory;

    /** Reservations are host memory; "physical memory" comes as garbage and goes as zeros. */
    private final class HostBackend implements DeviceMemoryRegistry.Backend {
        private long handles;

        @SuppressWarnings("restricted")
        private static MemorySegment at(long address, long bytes) {
            return MemorySegment.ofAddress(address).reinterpret(bytes);
        }

        @Override
        public long granularity(int gpu) {
            return 4096;
        }

        @Override
        public long reserve(int gpu, long bytes, long alignment) {
            return arena.allocate(bytes, alignment).address();
        }

        @Override
        public void freeAddress(int gpu, long address, long bytes) {}

        @Override
        public long createAndMap(int gpu, long address, long bytes) {
            at(address, bytes).fill((byte) 0x5a);
            return ++handles;
        }

        @Override
        public void unmapAndRelease(int gpu, long address, long bytes, long handle) {
            at(address, bytes).fill((byte) 0);
        }

        @Override
        public IntFunction<DeviceCopies> copies() {
            return g -> new DeviceCopies() {
                @Override
                public void attach() {}

                @Override
                public void pin(MemorySegment host, boolean readOnly) {}

                @Override
                public void unpin(MemorySegment host) {}

                @Override
                public void toHost(long device, MemorySegment host, int slot) {
                    MemorySegment.copy(at(device, host.byteSize()), 0, host, 0, host.byteSize());
                }

                @Override
                public void toDevice(MemorySegment host, long device, int slot) {
                    MemorySegment.copy(host, 0, at(device, host.byteSize()), 0, host.byteSize());
                }

                @Override
                public void await(int slot) {}

                @Override
                public boolean reached(int slot) {
                    return true;
                }

                @Override
                public void awaitAll() {}

                @Override
                public void close() {}
            };
        }
    }

    @BeforeEach
    void allocate() {
        System.setProperty("cryo.deviceMemory.chunkMiB", "1");
        DeviceMemoryRegistry.useBackend(new HostBackend());
        memory = DeviceMemoryRegistry.allocate(0, SIZE);
        MemorySegment m = HostBackend.at(memory.address(), SIZE);
        for (long off = 0; off < SIZE; off += 8) {
            m.set(JAVA_LONG, off, off * 0x9E3779B97F4A7C15L);
        }
    }

    @AfterEach
    void free() {
        memory.close();
        DeviceMemoryRegistry.useBackend(null);
        System.clearProperty("cryo.deviceMemory.chunkMiB");
        arena.close();
    }

    private boolean intact() {
        MemorySegment m = HostBackend.at(memory.address(), SIZE);
        for (long off = 0; off < SIZE; off += 8) {
            if (m.get(JAVA_LONG, off) != off * 0x9E3779B97F4A7C15L) {
                return false;
            }
        }
        return true;
    }

    private DeviceMemoryStep.Moved copyOut(Path tmp) throws Exception {
        Files.createDirectories(tmp);
        DeviceMemoryStep.Moved moved = new DeviceMemoryStep(tmp, new Failures(api, dir)).run();
        assertFalse(intact(), "the memory was released");
        assertEquals(SIZE, moved.layout().bytes());
        assertEquals(4, moved.layout().crc32c().size(), "4 chunks of 1 MiB at most");
        return moved;
    }

    private Resumption resumption(CheckpointOutcome.Kind kind, Path image) {
        return new Resumption(api.outcome(kind, image, "id", null, Duration.ZERO), new LinkedHashMap<>());
    }

    /** Whether another thread can use the registry: the step let go of its lock. */
    private static boolean unlocked() throws Exception {
        return CompletableFuture.supplyAsync(DeviceMemoryRegistry::liveBytes).get(5, TimeUnit.SECONDS) == SIZE;
    }

    @Test
    @DisplayName("undo fills the memory again from the temporary directory; after the dump, from the image")
    void fillsBack() throws Exception {
        Path tmp = dir.resolve(".tmp-id");
        DeviceMemoryStep.Moved moved = copyOut(tmp);
        Resumption undo = resumption(CheckpointOutcome.Kind.SKIPPED, null);
        moved.undo(undo);
        assertTrue(undo.failures().isEmpty(), undo.failures()::toString);
        assertTrue(intact(), "undo: filled from the temporary directory");
        assertTrue(unlocked());

        moved = copyOut(dir.resolve(".tmp-id2"));
        Path image = Files.move(dir.resolve(".tmp-id2"), dir.resolve("img-id2")); // the commit's rename
        Resumption after = resumption(CheckpointOutcome.Kind.CHECKPOINTED, image);
        moved.afterDump(after);
        assertTrue(after.failures().isEmpty(), after.failures()::toString);
        assertTrue(intact(), "after the dump: filled from the image");
        assertTrue(unlocked());
    }

    @Test
    @DisplayName("in a restored copy: a corrupt file is a failure naming it; a GPU state not resumed is one too")
    void restoredFailures() throws Exception {
        DeviceMemoryStep.Moved moved = copyOut(dir.resolve("img-id"));
        Path file = dir.resolve("img-id").resolve("device-memory-1.bin");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}), 100);
        }
        Resumption restored = resumption(CheckpointOutcome.Kind.RESTORED, dir.resolve("img-id"));
        moved.afterRestore(restored);
        assertEquals(1, restored.failures().size(), restored.failures()::toString);
        String message = restored.failures().get(0).getMessage();
        assertTrue(message.contains("could not be filled") && message.contains(file + " is corrupt"), message);
        assertTrue(unlocked());

        moved = copyOut(dir.resolve("img-id3"));
        Resumption lost = resumption(CheckpointOutcome.Kind.RESTORED, dir.resolve("img-id3"));
        lost.gpuMemoryLost(new IllegalStateException("host copy lost"));
        moved.afterRestore(lost);
        assertTrue(lost.failures().get(1).getMessage().contains("was not resumed"), lost.failures()::toString);
        assertFalse(intact());
        assertTrue(unlocked());
    }
}
