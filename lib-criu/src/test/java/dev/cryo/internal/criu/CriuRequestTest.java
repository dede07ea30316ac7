package dev.cryo.internal.criu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.internal.os.LibC;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The binding against the real libcriu and criu that bin/bootstrap installs (tests run as root). */
class CriuRequestTest {
    @TempDir
    Path dir;

    private static LibCriu criu() {
        return LibCriu.load(CriuLocation.resolve(null, null));
    }

    @Test
    @DisplayName("the criu binary is 4.0 or newer, and libcriu and 'criu --version' agree")
    void version() {
        LibCriu lib = criu();
        int version = lib.binaryVersion();
        assertTrue(version >= 40000, CriuVersion.format(version));
        try (CriuRequest r = lib.newRequest()) {
            assertEquals(version, r.version());
        }
    }

    @Test
    @DisplayName("dump a process by pid (CRIU kills it), restore it as our child with the same pid")
    void dumpAndRestoreChild() throws Exception {
        Path images = Files.createDirectory(dir.resolve("images"));
        File devNull = new File("/dev/null");
        // Its own session: CRIU refuses a task whose session leader is outside its PID namespace, as
        // under CI runners. (setsid(1) execs in place: a ProcessBuilder child leads no process group.)
        Process sleeper = new ProcessBuilder("setsid", "sleep", "120").redirectInput(devNull).redirectOutput(devNull)
                .redirectError(devNull).start();
        int pid = (int) sleeper.pid();
        try (CriuRequest r = criu().newRequest()) {
            assertEquals(CriuRequest.DumpResult.DUMPED,
                    r.pid(pid).imagesDirectory(images).log("dump.log", CriuRequest.LOG_INFO).shellJob(true).dump());
        }
        assertTrue(sleeper.waitFor(30, TimeUnit.SECONDS), "CRIU kills the dumped process");
        assertTrue(Files.exists(images.resolve("inventory.img")));

        int restored;
        try (CriuRequest r = criu().newRequest()) {
            restored = r.imagesDirectory(images).log("restore.log", CriuRequest.LOG_INFO).shellJob(true).restoreChild();
        }
        assertEquals(pid, restored, "same pid");
        String comm = Files.readString(Path.of("/proc/" + restored + "/comm")).trim();
        assertEquals("sleep", comm);
        assertTrue(LibC.kill(restored, 9));
        assertEquals(128 + 9, LibC.exitCode(LibC.waitFor(restored)), "our child, killed by SIGKILL");
    }

    @Test
    @DisplayName("a failed restore is a CriuException with the function, code names and CRIU's error lines")
    void failureCarriesTheLog() throws Exception {
        Path empty = Files.createDirectory(dir.resolve("empty"));
        CriuException e;
        try (CriuRequest r = criu().newRequest()) {
            r.imagesDirectory(empty).log("restore.log", CriuRequest.LOG_WARN);
            e = assertThrows(CriuException.class, r::restoreChild);
        }
        assertEquals("criu_local_restore_child", e.function());
        assertTrue(e.code() < 0);
        assertEquals("EBADE", e.codeName());
        assertTrue(e.logTail().stream().anyMatch(l -> l.contains("Error")), e.logTail()::toString);
        assertEquals(empty.resolve("restore.log"), e.log());
        assertTrue(e.getMessage().contains("criu_local_restore_child returned") && e.getMessage().contains("Error"),
                e.getMessage());
    }

    @Test
    @DisplayName("a missing libcriu says where it looked and what to do")
    void missingLibrary() {
        CriuUnavailableException e = assertThrows(CriuUnavailableException.class,
                () -> CriuLocation.resolve("/nowhere/libcriu.so.2", "/bin/true"));
        assertTrue(e.getMessage().contains("/nowhere/libcriu.so.2") && e.getMessage().contains("bin/bootstrap"));
        e = assertThrows(CriuUnavailableException.class, () -> CriuLocation.resolve(null, "/nowhere/criu"));
        assertTrue(e.getMessage().contains("/nowhere/criu"), e.getMessage());
    }

    @Test
    @DisplayName("errno names come from the C library")
    void errnoNames() {
        assertEquals("ENOSPC", LibC.errnoName(28));
        assertEquals("No space left on device", LibC.strerror(28));
    }
}
