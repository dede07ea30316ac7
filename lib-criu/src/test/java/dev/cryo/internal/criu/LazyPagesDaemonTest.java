package dev.cryo.internal.criu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.internal.os.LibC;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** CRIU's lazy restore through the binding, against the real criu (tests run as root). */
class LazyPagesDaemonTest {
    @TempDir
    Path dir;

    @Test
    @DisplayName("this kernel and CRIU support lazy restore, and the answer is kept for the next start")
    @Timeout(60)
    void supportedHere() throws Exception {
        CriuLocation location = CriuLocation.resolve(null, null);
        assertEquals(Optional.empty(), LazyPagesDaemon.unsupported(location));
        String kept = Files.readString(CriuLocation.cryoHome().resolve("criu-features.properties"));
        assertTrue(kept.contains("uffd-noncoop=supported"), kept);
        assertEquals(Optional.empty(), LazyPagesDaemon.unsupported(location), "the kept answer");
    }

    @Test
    @DisplayName("a process restored with lazy pages runs, and the daemon exits 0 once its pages are in")
    @Timeout(120)
    void lazyRestore() throws Exception {
        LibCriu criu = LibCriu.load(CriuLocation.resolve(null, null));
        Path images = Files.createDirectory(dir.resolve("images"));
        Path work = Files.createDirectory(dir.resolve("work"));
        File devNull = new File("/dev/null");
        Process sleeper = new ProcessBuilder("setsid", "sleep", "120").redirectInput(devNull).redirectOutput(devNull)
                .redirectError(devNull).start();
        int pid = (int) sleeper.pid();
        try (CriuRequest r = criu.newRequest()) {
            r.pid(pid).imagesDirectory(images).log("dump.log", CriuRequest.LOG_WARN).shellJob(true).dump();
        }
        assertTrue(sleeper.waitFor(30, TimeUnit.SECONDS), "CRIU kills the dumped process");

        int restored;
        try (LazyPagesDaemon daemon = LazyPagesDaemon.start(criu.location(), images, work, CriuRequest.LOG_INFO)) {
            assertEquals(Optional.empty(), daemon.awaitReady(Duration.ofSeconds(30)));
            try (CriuRequest r = criu.newRequest()) {
                restored = r.imagesDirectory(images).workDirectory(work).log("restore.log", CriuRequest.LOG_INFO)
                        .shellJob(true).lazyPages().restoreChild();
            }
            assertEquals(pid, restored, "same pid");
            // Had CRIU not read lazy-pages.conf, the restore would never connect and the daemon wait on.
            assertEquals(Optional.of(0), daemon.awaitExit(Duration.ofSeconds(60)),
                    "the daemon ends by itself once all pages are in: " + Files.readString(daemon.log()));
        }
        assertEquals("sleep", Files.readString(Path.of("/proc/" + restored + "/comm")).trim());
        assertTrue(LibC.kill(restored, 9));
        assertEquals(128 + 9, LibC.exitCode(LibC.waitFor(restored)));
    }
}
