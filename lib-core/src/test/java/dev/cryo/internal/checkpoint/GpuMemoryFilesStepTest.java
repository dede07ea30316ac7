package dev.cryo.internal.checkpoint;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.ApiAccessForTests;
import dev.cryo.CheckpointOutcome;
import dev.cryo.internal.GpuMemoryFiles;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The GPU memory files step and its ways back, on memory this test maps itself as the driver maps
 * its host copy (CI has no GPU; device/gpu-failure-proof.sh runs the step with a real CUDA checkpoint).
 */
class GpuMemoryFilesStepTest {
    private static final long SIZE = 64L << 20;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle MMAP = LINKER.downcallHandle(LINKER.defaultLookup().find("mmap").orElseThrow(),
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = LINKER.downcallHandle(LINKER.defaultLookup().find("munmap").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));

    private final ApiAccessForTests api = new ApiAccessForTests();
    @TempDir
    Path dir;
    private MemorySegment memory;
    private GpuMemoryFiles.Region region;

    @BeforeEach
    void map() throws Throwable {
        MemorySegment at = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, SIZE, 3, 0x22, -1, 0L);
        memory = at.reinterpret(SIZE);
        region = new GpuMemoryFiles.Region(at.address(), at.address() + SIZE);
        for (long off = 0; off < SIZE; off += 8) {
            memory.set(JAVA_LONG, off, off * 0x9E3779B97F4A7C15L);
        }
    }

    @AfterEach
    void unmap() throws Throwable {
        assertEquals(0, (int) MUNMAP.invokeExact(memory, SIZE));
    }

    private boolean intact() {
        for (long off = 0; off < SIZE; off += 8) {
            if (memory.get(JAVA_LONG, off) != off * 0x9E3779B97F4A7C15L) {
                return false;
            }
        }
        return true;
    }

    private GpuMemoryFilesStep.Saved save(Path tmp) throws Exception {
        Files.createDirectories(tmp);
        GpuMemoryFilesStep.Saved saved = new GpuMemoryFilesStep(List.of(region), tmp, new Failures(api, dir)).run();
        assertFalse(intact(), "the pages were dropped");
        return saved;
    }

    private Resumption resumption(CheckpointOutcome.Kind kind, Path image) {
        return new Resumption(api.outcome(kind, image, "id", null, Duration.ZERO), new LinkedHashMap<>());
    }

    @Test
    @DisplayName("after the dump the memory comes back from the committed image; undo reads the temporary one")
    void readBack() throws Exception {
        Path tmp = dir.resolve(".tmp-id");
        GpuMemoryFilesStep.Saved saved = save(tmp);
        saved.undo(resumption(CheckpointOutcome.Kind.SKIPPED, null));
        assertTrue(intact(), "undo: read back from the temporary directory");

        saved = save(dir.resolve(".tmp-id2"));
        Path image = Files.move(dir.resolve(".tmp-id2"), dir.resolve("img-id2")); // the commit's rename
        Resumption r = resumption(CheckpointOutcome.Kind.CHECKPOINTED, image);
        saved.afterDump(r);
        assertTrue(intact(), "after the dump: read back from the image");
        assertTrue(r.failures().isEmpty(), r.failures()::toString);
        assertFalse(r.isGpuMemoryLost());
    }

    @Test
    @DisplayName("a host copy that cannot be read back is reported lost, so that the GPU state is not resumed")
    void lost() throws Exception {
        GpuMemoryFilesStep.Saved saved = save(dir.resolve("img-id"));
        Files.delete(dir.resolve("img-id").resolve("gpu-memory-0-0.bin"));
        Resumption after = resumption(CheckpointOutcome.Kind.CHECKPOINTED, dir.resolve("img-id"));
        saved.afterDump(after);
        assertTrue(after.isGpuMemoryLost());
        assertTrue(after.failures().get(0).getMessage().contains("GPU state is lost"), after.failures()::toString);

        Resumption restored = resumption(CheckpointOutcome.Kind.RESTORED, dir.resolve("img-id"));
        saved.afterRestore(restored);
        assertTrue(restored.isGpuMemoryLost());
        assertTrue(restored.failures().get(0).getMessage().contains("could not be read back"));
    }
}
