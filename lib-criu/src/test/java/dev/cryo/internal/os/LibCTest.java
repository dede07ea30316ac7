package dev.cryo.internal.os;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LibCTest {
    @Test
    @DisplayName("anonymous memory is mapped page-aligned and zeroed, written, and given back")
    void anonymousMemory() {
        MemorySegment m = LibC.mapAnonymous(1 << 20);
        assertEquals(1 << 20, m.byteSize());
        assertEquals(0, m.address() % 4096);
        assertEquals(0L, m.get(JAVA_LONG, 8192));
        m.set(JAVA_LONG, 8192, 42L);
        assertEquals(42L, m.get(JAVA_LONG, 8192));
        LibC.unmap(m);
    }

    @Test
    @DisplayName("read-ahead advice: true for a file, false when there is none; a failed call is an ErrnoException")
    void adviceAndErrors(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("f"), "x");
        assertTrue(LibC.adviseWillNeed(file.toString()));
        assertFalse(LibC.adviseWillNeed(dir.resolve("missing").toString()));
        ErrnoException e = assertThrows(ErrnoException.class, () -> LibC.openDirectory(file.toString()));
        assertEquals("ENOTDIR", e.errnoName());
        assertEquals("open", e.function());
        assertFalse(LibC.kill(Integer.MAX_VALUE, 0), "no such process: false, not an exception");
    }

    @Test
    @DisplayName("preparing a restored copy's calls before a dump changes nothing: the same descriptors, stdin the same file")
    void restoredCopyCallsAreHarmless() throws Exception {
        Path fds = Path.of("/proc/self/fd");
        String stdin = Files.readSymbolicLink(fds.resolve("0")).toString();
        long open;
        try (var list = Files.list(fds)) {
            open = list.count();
        }
        LibC.prepareRestoredCopyCalls();
        LibC.prepareRestoredCopyCalls();
        try (var list = Files.list(fds)) {
            assertEquals(open, list.count(), "no descriptor left open");
        }
        assertEquals(stdin, Files.readSymbolicLink(fds.resolve("0")).toString());
    }
}
