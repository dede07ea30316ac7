package dev.cryo.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The mechanism behind GPU memory files, on memory this test maps itself as the driver maps its
 * host copy (private anonymous, read-write): found as newly mapped, written out, dropped, read back
 * bit for bit. (CI has no GPU; device/gpu-bench.sh runs it with a real CUDA checkpoint.)
 */
class GpuMemoryFilesTest {
    private static final long SIZE = 192L << 20;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle MMAP = LINKER.downcallHandle(LINKER.defaultLookup().find("mmap").orElseThrow(),
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MPROTECT = LINKER.downcallHandle(
            LINKER.defaultLookup().find("mprotect").orElseThrow(), FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle MUNMAP = LINKER.downcallHandle(LINKER.defaultLookup().find("munmap").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));

    @TempDir
    Path dir;

    @Test
    @DisplayName("newly mapped ranges: what the second listing has and the first had not, 64 MB and up")
    void newlyMappedSubtractsOldRanges() {
        var mb = 1L << 20;
        var old = List.of(new GpuMemoryFiles.Region(0, 10 * mb), new GpuMemoryFiles.Region(500 * mb, 600 * mb));
        var now = List.of(new GpuMemoryFiles.Region(0, 200 * mb), new GpuMemoryFiles.Region(500 * mb, 600 * mb),
                new GpuMemoryFiles.Region(700 * mb, 710 * mb));
        assertEquals(List.of(new GpuMemoryFiles.Region(10 * mb, 192 * mb)), GpuMemoryFiles.newlyMapped(old, now),
                "a grown mapping counts by its new part up to a 64 MiB boundary; an unchanged one and a small"
                        + " new one do not");
    }

    @Test
    @DisplayName("memory committed into an old reservation (a Java heap growing) is not new memory")
    void committedReservationIsNotNew() throws Throwable {
        MemorySegment at = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, SIZE, 0, 0x22, -1, 0L); // PROT_NONE
        try {
            List<GpuMemoryFiles.Region> before = GpuMemoryFiles.allMappings();
            assertEquals(0, (int) MPROTECT.invokeExact(at, SIZE, 3));
            long address = at.address();
            assertTrue(GpuMemoryFiles.newlyMapped(before, GpuMemoryFiles.anonymousRegions()).stream()
                    .noneMatch(r -> r.start() < address + SIZE && address < r.end()));
        } finally {
            assertEquals(0, (int) MUNMAP.invokeExact(at, SIZE));
        }
    }

    @Test
    @DisplayName("a mapping's bytes go to a file, its pages are dropped, and they come back bit for bit")
    void savedDroppedAndLoaded() throws Throwable {
        List<GpuMemoryFiles.Region> before = GpuMemoryFiles.allMappings();
        MemorySegment at = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, SIZE, 3, 0x22, -1, 0L);
        long address = at.address();
        try {
            assertTrue(GpuMemoryFiles.newlyMapped(before, GpuMemoryFiles.anonymousRegions()).stream()
                    .anyMatch(r -> r.start() <= address + SIZE && address < r.end()), "found as newly mapped");
            GpuMemoryFiles.Region region = new GpuMemoryFiles.Region(address, address + SIZE);
            MemorySegment memory = at.reinterpret(SIZE);
            SplittableRandom random = new SplittableRandom(42);
            for (long off = 0; off < SIZE; off += 8) {
                memory.set(JAVA_LONG, off, random.nextLong());
            }
            long digest = digest(memory);

            GpuMemoryFiles.save(List.of(region), dir);
            // in parts of whole 64 MiB chunks, one file each, so that writers do not share a file's lock
            List<java.nio.file.Path> parts = GpuMemoryFiles.files(dir, 0, SIZE);
            assertEquals(3, parts.size(), parts.toString());
            long stored = 0;
            for (java.nio.file.Path part : parts) {
                stored += Files.size(part);
            }
            assertEquals(SIZE, stored);
            assertEquals(parts, GpuMemoryFiles.files(List.of(region), dir),
                    "the launcher reads ahead exactly the files the restore reads");
            assertEquals(0L, digest(memory), "the pages were dropped: the memory reads as zeros");

            GpuMemoryFiles.load(List.of(region), dir);
            assertEquals(digest, digest(memory), "read back bit for bit");

            Files.delete(parts.get(1));
            var e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                    () -> GpuMemoryFiles.load(List.of(region), dir));
            assertTrue(e.getMessage().contains("gpu-memory-0-1.bin is missing"), e.getMessage());
        } finally {
            assertEquals(0, (int) MUNMAP.invokeExact(at, SIZE));
        }
    }

    @Test
    @DisplayName("loading into memory that is not mapped is refused, naming the range")
    void loadNeedsTheMapping() throws Exception {
        Files.write(dir.resolve("gpu-memory-0.bin"), new byte[4096]);
        var missing = new GpuMemoryFiles.Region(0x1000, 0x2000);
        var e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                () -> GpuMemoryFiles.load(List.of(missing), dir));
        assertTrue(e.getMessage().contains("0x1000-0x2000"), e.getMessage());
    }

    private static long digest(MemorySegment memory) {
        long h = 0;
        for (long off = 0; off < memory.byteSize(); off += 8) {
            h = h * 31 + memory.get(JAVA_LONG, off);
        }
        return h;
    }
}
