package dev.cryo.internal.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ProgressLineTest {
    @TempDir
    Path dir;

    @Test
    @DisplayName("the line: step, bytes of total, rate, time")
    void format() {
        assertEquals("cryo: restoring image x: CRIU restoring memory, 1.5 of 3.0 MB, 750 MB/s, 2.0 s",
                ProgressLine.format("restoring image x", new ProgressLine.Sample("CRIU restoring memory", 1_500_000,
                        3_000_000), 750e6, 2000));
    }

    @Test
    @DisplayName("drawn in place on a terminal once the delay passed, erased when closed; nothing without a terminal")
    void drawnAndErased() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream terminal = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        AtomicLong done = new AtomicLong();
        try (ProgressLine p = ProgressLine.start(terminal, "restoring image x",
                () -> Optional.of(new ProgressLine.Sample("step", done.addAndGet(1_000_000), 0)), 50)) {
            Thread.sleep(700);
        }
        String shown = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(shown.startsWith("\r\033[Kcryo: restoring image x: step, 1.0 MB, 0 MB/s"), shown);
        assertTrue(shown.matches("(?s).*\r\033\\[Kcryo: restoring image x: step, [2-9]\\.0 MB, [1-9][0-9]* MB/s.*"), shown);
        assertTrue(shown.endsWith("\r\033[K"), shown);
        try (ProgressLine p = ProgressLine.start(null, "x", () -> Optional.of(new ProgressLine.Sample("s", 1, 0)), 0)) {
            Thread.sleep(100); // nothing to draw on, nothing started
        }
    }

    @Test
    @DisplayName("a checkpoint's progress: its unfinished image's bytes and step, once it is older than the delay")
    void checkpointProgress() throws Exception {
        var sampler = ProgressLine.checkpointOf(dir, 200);
        assertEquals(Optional.empty(), sampler.get());
        Path tmp = Files.createDirectory(dir.resolve(".tmp-20261202T000000Z-aaaa-1"));
        Files.write(tmp.resolve("device-memory-0.bin"), new byte[1000]);
        assertEquals(Optional.empty(), sampler.get());
        Thread.sleep(250);
        assertEquals(Optional.of(new ProgressLine.Sample("device memory to files", 1000, 0)), sampler.get());
        Files.write(tmp.resolve("pages-1.img"), new byte[500]);
        assertEquals(Optional.of(new ProgressLine.Sample("CRIU dump", 1500, 0)), sampler.get());
    }

    @Test
    @DisplayName("a restore's progress: the restored process's resident memory, of what it had at checkpoint")
    void restoreProgress() {
        ProgressLine.Sample s = ProgressLine.restoreOf(ProcessHandle.current().pid(), 1L << 40).get().orElseThrow();
        assertEquals("CRIU restoring memory", s.step());
        assertTrue(s.bytes() > 1 << 20, s::toString);
        assertEquals(1L << 40, s.totalBytes());
        assertEquals("CRIU starting", ProgressLine.restoreOf(Integer.MAX_VALUE, 5).get().orElseThrow().step());
    }
}
