package dev.cryo;

import static dev.cryo.ChildJvm.images;
import static dev.cryo.ChildJvm.java;
import static dev.cryo.ChildJvm.launcher;
import static dev.cryo.ChildJvm.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.ChildJvm.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The GC step gives the heap's free space back before the dump (CollectGarbageStep): an app whose
 * heap grew during its start and then holds free space is dumped smaller than with the step's
 * heap shrink left out, and its own heap settings are back afterwards, in the original and in a
 * restored copy.
 */
@DisplayName("the heap's free space is left out of the image")
class HeapShrinkEndToEndTest {
    /** 64 MB of live table, 256 MB of start-up garbage: G1 keeps up to 70% free by default, at most 10% with the shrink. */
    private static final String[] APP_ARGS = {"--entries", "8000000", "--garbage-mb", "256"};

    @TempDir
    Path dir;

    private static List<String> app(String... jvmFlags) {
        List<String> cmd = new ArrayList<>(java("dev.cryo.testapp.StatefulApp", APP_ARGS));
        cmd.addAll(1, List.of(jvmFlags));
        return cmd;
    }

    @Test
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    @DisplayName("smaller image than without the shrink; the app's MinHeapFreeRatio/MaxHeapFreeRatio are back after it and after a restore")
    void freeHeapLeftOut() throws Exception {
        // The app's own ratios, so that putting back is not the defaults by chance.
        List<String> shrunkApp = app("-XX:MinHeapFreeRatio=20", "-XX:MaxHeapFreeRatio=60");
        Result shrunk = run(launcher(dir.resolve("shrunk"), List.of(), shrunkApp), dir, "shrunk");
        assertEquals(0, shrunk.exit(), shrunk::toString);
        assertTrue(shrunk.has("OUTCOME CHECKPOINTED"), shrunk::toString);
        assertEquals("HEAP-FREE-RATIOS min=20 max=60", shrunk.line("HEAP-FREE-RATIOS").replaceAll(" garbage=.*", ""),
                "the original has its ratios back after the dump:\n" + shrunk);

        Result kept = run(launcher(dir.resolve("kept"), List.of(),
                app("-XX:MinHeapFreeRatio=20", "-XX:MaxHeapFreeRatio=60", "-Dcryo.noHeapShrink=true")), dir, "kept");
        assertEquals(0, kept.exit(), kept::toString);
        assertTrue(kept.has("OUTCOME CHECKPOINTED"), kept::toString);

        long shrunkBytes = pageBytes(dir.resolve("shrunk"));
        long keptBytes = pageBytes(dir.resolve("kept"));
        // Expected about 70+ MB against 160+ MB; the margin covers G1's and the JIT's run-to-run spread.
        assertTrue(shrunkBytes < keptBytes - (40L << 20), "image pages with the shrink " + (shrunkBytes >> 20)
                + " MB, without " + (keptBytes >> 20) + " MB\n" + shrunk + "\n" + kept);

        Result restored = run(launcher(dir.resolve("shrunk"), List.of(), shrunkApp), dir, "restored");
        assertEquals(0, restored.exit(), restored::toString);
        assertTrue(restored.has("OUTCOME RESTORED"), restored::toString);
        assertEquals("HEAP-FREE-RATIOS min=20 max=60", restored.line("HEAP-FREE-RATIOS").replaceAll(" garbage=.*", ""),
                "a restored copy has the app's ratios back:\n" + restored);
        assertEquals(CheckpointRestoreEndToEndTest.stateHash(shrunk), CheckpointRestoreEndToEndTest.afterHash(restored));
    }

    /** The bytes of memory pages in the store's one image (CRIU's pages-*.img). */
    private static long pageBytes(Path store) throws IOException {
        List<Path> images = images(store);
        assertEquals(1, images.size(), "one image in " + store);
        try (Stream<Path> files = Files.list(images.get(0))) {
            long sum = 0;
            for (Path f : files.filter(f -> f.getFileName().toString().startsWith("pages-")).toList()) {
                sum += Files.size(f);
            }
            return sum;
        }
    }
}
