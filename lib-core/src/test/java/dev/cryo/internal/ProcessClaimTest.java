package dev.cryo.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The claim rule of {@link ProcessClaim} within this process's PID namespace (the other namespace: ClaimsEndToEndTest). */
class ProcessClaimTest {
    @TempDir
    Path dir;

    private static ProcessClaim.Owner owner(String boot, long ns, long start, long pid) {
        return new ProcessClaim.Owner(boot, ns, start, pid);
    }

    private Path claim(String name, ProcessClaim.Owner o) throws Exception {
        Path f = dir.resolve(name);
        ProcessClaim.create(f, o);
        return f;
    }

    private static void age(Path f, long seconds) throws Exception {
        Files.setLastModifiedTime(f, FileTime.from(Instant.now().minusSeconds(seconds)));
    }

    @Test
    @DisplayName("a claim is 0600, exclusive, names this process, and only this process gives it back")
    void createAndRelease() throws Exception {
        Path f = dir.resolve(".checkpointing-k");
        ProcessClaim.create(f);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
        assertThrows(FileAlreadyExistsException.class, () -> ProcessClaim.create(f));
        assertEquals(ProcessClaim.Owner.current(), ProcessClaim.owner(f).orElseThrow());
        assertFalse(ProcessClaim.stale(f));
        assertTrue(ProcessClaim.mine(f));
        try (var s = Files.list(dir)) {
            assertEquals(1, s.count(), "no draft left beside it");
        }
        ImageStore.release(f);
        assertFalse(Files.exists(f));
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    @DisplayName("same namespace: stale once its process is dead, or when only the pid matches (a restored copy)")
    void sameNamespace() throws Exception {
        String boot = ProcessClaim.currentBootId();
        long ns = ProcessClaim.currentPidNamespace();
        Process p = new ProcessBuilder("sleep", "30").start();
        try {
            ProcessClaim.Owner live = ProcessClaim.Owner.of(p.pid()).orElseThrow();
            Path alive = claim("alive", live);
            assertFalse(ProcessClaim.stale(alive));
            Path samePidOtherStart = claim("copy", owner(boot, ns, live.startTicks() - 1, p.pid()));
            assertTrue(ProcessClaim.stale(samePidOtherStart), "a pid alone proves nothing");
            assertFalse(ProcessClaim.mine(alive));
            ImageStore.release(alive);
            assertTrue(Files.exists(alive), "another process's claim is not given back");
        } finally {
            p.destroyForcibly().waitFor();
        }
        assertTrue(ProcessClaim.stale(dir.resolve("alive")), "its process ended");
        assertTrue(ProcessClaim.stale(claim("otherBoot", owner("another-boot", ns, 1, 1))));
    }

    @Test
    @DisplayName("another namespace, or an unreadable claim: alive until older than the limit")
    void cannotBeChecked() throws Exception {
        String boot = ProcessClaim.currentBootId();
        long ns = ProcessClaim.currentPidNamespace();
        Path foreign = claim("foreign", owner(boot, ns + 1, 1, 1));
        assertFalse(ProcessClaim.stale(foreign));
        assertTrue(ProcessClaim.holder(foreign).contains("in another PID namespace"), ProcessClaim.holder(foreign));
        age(foreign, ProcessClaim.FOREIGN_LIMIT.toSeconds() - 60);
        assertFalse(ProcessClaim.stale(foreign));
        age(foreign, ProcessClaim.FOREIGN_LIMIT.toSeconds() + 60);
        assertTrue(ProcessClaim.stale(foreign));

        Path legacy = Files.writeString(dir.resolve("legacy"), "12345"); // an older Cryo's bare pid
        assertFalse(ProcessClaim.stale(legacy));
        age(legacy, ProcessClaim.FOREIGN_LIMIT.toSeconds() + 60);
        assertTrue(ProcessClaim.stale(legacy));
        assertFalse(ProcessClaim.stale(dir.resolve("none")), "a claim given back meanwhile is left alone");
    }

    @Test
    @DisplayName("the store's claim on a build: taken over from a dead holder, refused while a live one holds it")
    void storeClaim() throws Exception {
        ImageStore store = new ImageStore(dir.resolve("s"));
        Path mine = store.claim("k").orElseThrow();
        assertTrue(store.claim("k").isEmpty(), "held by a live process (this one)");
        assertTrue(store.claimHolder("k").startsWith("pid " + ProcessHandle.current().pid()), store.claimHolder("k"));
        Files.delete(mine);
        ProcessClaim.create(mine, owner(ProcessClaim.currentBootId(), ProcessClaim.currentPidNamespace(), 1,
                2147483646));
        assertEquals(mine, store.claim("k").orElseThrow(), "a dead holder's claim is taken over");
        assertTrue(ProcessClaim.mine(mine));
    }
}
