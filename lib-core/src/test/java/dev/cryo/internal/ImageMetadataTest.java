package dev.cryo.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.internal.cuda.GpuDevice;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageMetadataTest {
    @TempDir
    Path dir;

    private static ImageMetadata full() {
        Map<String, Long> steps = new LinkedHashMap<>();
        steps.put("beforeCheckpoint", 3L);
        steps.put("criuDump", 420L);
        return new ImageMetadata("20261202T010203Z-0a0b0c0d", "2026-12-02T01:02:03Z",
                new BuildKey.Parts("buildkey", Map.of("jdk", "/usr/lib/jvm/25/bin/java", "entry /work/a b.jar", "0a1b")),
                new ImageMetadata.Process(4242, List.of("java", "-Dx=a b", "-cp", "x=y:z.jar", "Main", "é"), "/work dir",
                        "Main", "25.0.1", "OpenJDK 64-Bit Server VM 25.0.1", "/usr/lib/jvm/25", "amd64", "6.18.44",
                        123456789L, Map.of(0, "pipe:[1]", 1, "/dev/pts/0", 2, "/dev/pts/0")),
                Optional.of(new RuntimeKey("Intel Xeon", "0123456789abcdef", "6.18.44", "580.159.04", "NVIDIA H200")),
                new ImageMetadata.Criu("4.2.1", "/store/.tmp-x-1", true, false, true),
                List.of(new OpenFiles.Recorded("/data/a.bin", 8192, 1700000000000L)),
                List.of(new StoredFiles.Stored("/etc/app.conf", 12, 1700000000001L, "rw-r-----")),
                Optional.of(new ImageMetadata.Gpu(List.of(new GpuDevice(0, "NVIDIA H200",
                        GpuDevice.parseUuid("GPU-341a9345-4265-f847-9deb-7ae559817e0a"), 150_000_000_000L)), "13.0",
                        1L << 30, 5, 2400)),
                List.of(new GpuMemoryFiles.Region(0x7f0000000000L, 0x7f0040000000L)),
                new DeviceMemoryFiles.Layout(List.of(new DeviceMemoryFiles.Range(0, 0x7f2000000000L, 3L << 30),
                        new DeviceMemoryFiles.Range(1, 0xfffff00000000000L, 5)), 1L << 30, 2, List.of(0, -1, 0x1234abcd, 7)),
                new ImageMetadata.Timings(420, 3100, steps), Map.of("inventory.img", 3L, "pages-1.img", 4096L));
    }

    @Test
    @DisplayName("every field survives a write and a read")
    void roundTrip() throws IOException {
        ImageMetadata m = full();
        m.write(dir);
        ImageMetadata back = ImageMetadata.read(dir);
        assertEquals(m.id(), back.id());
        assertEquals(m.created(), back.created());
        assertEquals(m.build(), back.build());
        assertEquals(m.process(), back.process());
        assertEquals(m.runtime(), back.runtime());
        assertEquals(m.criu(), back.criu());
        assertEquals(m.openFiles(), back.openFiles());
        assertEquals(m.storedFiles(), back.storedFiles());
        assertEquals(m.gpuMemory(), back.gpuMemory());
        assertEquals(m.deviceMemory(), back.deviceMemory());
        assertEquals(m.timings().dumpMillis(), back.timings().dumpMillis());
        assertEquals(m.timings().checkpointMillis(), back.timings().checkpointMillis());
        assertEquals(m.timings().steps(), back.timings().steps());
        assertEquals(m.files(), back.files());
        assertEquals(4099, back.imageBytes());
        ImageMetadata.Gpu gpu = back.gpu().orElseThrow();
        GpuDevice d = gpu.devices().get(0);
        assertEquals("NVIDIA H200", d.name());
        assertArrayEquals(m.gpu().orElseThrow().devices().get(0).uuid(), d.uuid());
        assertEquals(150_000_000_000L, d.totalMemory());
        assertEquals(List.of("13.0", 1L << 30, 5L, 2400L),
                List.of(gpu.driver(), gpu.hostBytes(), gpu.lockMillis(), gpu.checkpointMillis()));
    }

    @Test
    @DisplayName("the file keeps the names scripts read, and is owner-only")
    void fileNames() throws IOException {
        full().write(dir);
        String text = Files.readString(dir.resolve(ImageMetadata.FILE_NAME));
        for (String key : List.of("format=1", "image.bytes=4099", "step.criuDump.millis=420", "dump.millis=420",
                "build.key=buildkey", "runtime.cpuFlags=0123456789abcdef", "gpu.0.uuid=GPU-341a9345")) {
            assertTrue(text.contains(key), key + " in\n" + text);
        }
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(dir.resolve(ImageMetadata.FILE_NAME))));
    }

    @Test
    @DisplayName("a CPU-only image without runtime keys reads with neither GPU nor runtime")
    void optionalParts() throws IOException {
        ImageMetadata m = TestImages.metadata("x", "k");
        ImageMetadata bare = new ImageMetadata(m.id(), m.created(), m.build(), m.process(), Optional.empty(),
                m.criu(), m.openFiles(), m.storedFiles(), m.gpu(), m.gpuMemory(), m.deviceMemory(), m.timings(),
                m.files());
        bare.write(dir);
        ImageMetadata back = ImageMetadata.read(dir);
        assertTrue(back.runtime().isEmpty());
        assertTrue(back.gpu().isEmpty());
        assertTrue(back.deviceMemory().isEmpty());
    }

    @Test
    @DisplayName("another format version, a missing file or a damaged entry is an error that says which")
    void refused() throws IOException {
        assertTrue(assertThrows(IOException.class, () -> ImageMetadata.read(dir)).getMessage()
                .contains("no readable " + ImageMetadata.FILE_NAME));
        full().write(dir);
        Path file = dir.resolve(ImageMetadata.FILE_NAME);
        String text = Files.readString(file);
        Files.writeString(file, text.replace("format=1", "format=2"));
        assertEquals("its format 2 is not 1", assertThrows(IOException.class, () -> ImageMetadata.read(dir)).getMessage());
        Files.writeString(file, text.replaceAll("(?m)^pid=.*$", "pid=x"));
        assertTrue(assertThrows(IOException.class, () -> ImageMetadata.read(dir)).getMessage().contains("damaged"));
        Files.writeString(file, text.replaceAll("(?m)^build\\.key=.*$", ""));
        assertTrue(assertThrows(IOException.class, () -> ImageMetadata.read(dir)).getMessage().contains("no build.key"));
    }
}
