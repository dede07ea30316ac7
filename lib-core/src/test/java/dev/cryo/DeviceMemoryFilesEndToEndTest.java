package dev.cryo;

import static dev.cryo.ChildJvm.app;
import static dev.cryo.ChildJvm.images;
import static dev.cryo.ChildJvm.launcher;
import static dev.cryo.ChildJvm.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.ChildJvm.Result;
import dev.cryo.internal.ImageMetadata;
import dev.cryo.internal.ImageStore;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher's check of an image's device memory files, before CRIU runs. CI has no GPU, so a
 * real image of a CPU app gets device memory entries in its metadata, with a file cut short: the
 * launcher must name the file and start cold, not restore a process whose memory cannot be filled.
 * (The GPU path itself: device/gpu-arena-bench.sh.)
 */
@DisplayName("Device memory files checked by the launcher")
class DeviceMemoryFilesEndToEndTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(300)
    @DisplayName("a device memory file cut short: the launcher names it and starts cold")
    void shortFileStartsCold() throws Exception {
        Path store = dir.resolve("store");
        List<String> cmd = app("--entries", "1000");
        Result first = run(launcher(store, List.of(), cmd), dir, "first");
        assertEquals(0, first.exit(), first::toString);
        Path image = images(store).get(0);

        Path meta = image.resolve(ImageMetadata.FILE_NAME);
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(meta)) {
            p.load(r);
        }
        p.setProperty("deviceMemory.count", "1");
        p.setProperty("deviceMemory.0.gpu", "0");
        p.setProperty("deviceMemory.0.address", Long.toUnsignedString(0x7f2000000000L));
        p.setProperty("deviceMemory.0.bytes", Long.toString(1L << 20));
        p.setProperty("deviceMemory.chunkBytes", Long.toString(1L << 20));
        p.setProperty("deviceMemory.files", "1");
        p.setProperty("deviceMemory.crc32c", "0badf00d");
        try (Writer w = Files.newBufferedWriter(meta)) {
            p.store(w, null);
        }
        Files.write(image.resolve("device-memory-0.bin"), new byte[4096]);
        ImageStore.seal(image, ImageMetadata.read(image)); // as if made so: the manifest vouches for the edit


        Result next = run(launcher(store, List.of(), cmd), dir, "next");
        assertEquals(0, next.exit(), next::toString);
        assertTrue(next.err().contains("image " + image.getFileName().toString().substring(4)
                + " refused: the device memory file " + image.resolve("device-memory-0.bin") + " holds 4096 bytes, not"
                + " 1048576 (cut short). It is marked bad and will be replaced. Starting cold."), next::toString);
        assertFalse(next.has("CRYO RESTORED"), next::toString);
    }
}
