package dev.cryo.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class PerfDataGhostTest {
    @TempDir
    Path dir;

    @Test
    @DisplayName("the checkpoint's aside name sits beside the perf-data directory")
    void aside() {
        assertEquals(Path.of("/tmp/.cryo-hsperfdata-123"), PerfDataGhost.aside(Path.of("/tmp/hsperfdata_root/123")));
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    @DisplayName("leftover ghosts of a PID that no process has are removed; those of a live PID and other files stay")
    void removesOnlyLeftovers() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        long free = gone.pid();
        Path leftover = Files.write(dir.resolve(".cryo-hsperfdata-" + free + ".cr.1.ghost"), new byte[16]);
        Path otherPid = Files.write(dir.resolve(".cryo-hsperfdata-" + free + "1.cr.1.ghost"), new byte[16]);
        Path notAGhost = Files.write(dir.resolve(".cryo-hsperfdata-" + free), new byte[16]);
        long live = ProcessHandle.current().pid();
        Path liveGhost = Files.write(dir.resolve(".cryo-hsperfdata-" + live + ".cr.1.ghost"), new byte[16]);
        assertEquals(List.of(leftover), PerfDataGhost.removeLeftovers(dir, free));
        assertTrue(Files.exists(otherPid) && Files.exists(notAGhost));
        assertEquals(List.of(), PerfDataGhost.removeLeftovers(dir, live));
        assertTrue(Files.exists(liveGhost), "a live PID's ghost may belong to a restore in progress");
    }
}
