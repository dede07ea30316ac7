package dev.cryo.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link MappedLibraries} and the digest cache it relies on ({@link ContentDigests}). */
class MappedLibrariesTest {
    @TempDir
    Path dir;

    @Test
    @DisplayName("executable mappings and shared objects are listed once; anonymous, data and deleted ones are not")
    void fromMaps() {
        List<String> maps = List.of(
                "5581c2a2d000-5581c2a2e000 r--p 00000000 08:01 1311 /usr/lib/jvm/25/bin/java",
                "5581c2a2e000-5581c2a2f000 r-xp 00001000 08:01 1311 /usr/lib/jvm/25/bin/java",
                "7f0000000000-7f0000100000 r-xp 00000000 08:01 2000 /usr/lib/jvm/25/lib/server/libjvm.so",
                "7f0000200000-7f0000300000 r--p 00000000 08:01 2001 /usr/lib/x86_64-linux-gnu/libc.so.6",
                "7f0000400000-7f0000500000 r-xp 00000000 08:01 2002 /opt/my libs/libx.so (deleted)",
                "7f0000600000-7f0000700000 r--s 00000000 08:01 2003 /usr/lib/jvm/25/lib/modules",
                "7f0000800000-7f0000900000 rw-p 00000000 00:00 0 ",
                "7f0000a00000-7f0000b00000 r-xp 00000000 08:01 2004 /opt/my libs/libsp ace.so",
                "7ffd00000000-7ffd00001000 r-xp 00000000 00:00 0                          [vdso]");
        assertEquals(List.of(Path.of("/usr/lib/jvm/25/bin/java"), Path.of("/usr/lib/jvm/25/lib/server/libjvm.so"),
                Path.of("/usr/lib/x86_64-linux-gnu/libc.so.6"), Path.of("/opt/my libs/libsp ace.so")),
                MappedLibraries.mapped(maps));
    }

    @Test
    @DisplayName("this JVM maps libjvm.so, and its libraries fit as they are")
    void thisJvm() {
        List<MappedLibraries.Recorded> libs = MappedLibraries.current();
        assertTrue(libs.stream().anyMatch(l -> l.path().endsWith("/libjvm.so")), libs::toString);
        assertTrue(MappedLibraries.misfit(libs).isEmpty(), () -> MappedLibraries.misfit(libs).get());
    }

    @Test
    @DisplayName("a library patched with its size and time kept, resized, or gone does not fit; named")
    void changed() throws Exception {
        Path lib = dir.resolve("libfake.so");
        Files.write(lib, new byte[] {1, 2, 3, 4});
        FileTime mtime = Files.getLastModifiedTime(lib);
        MappedLibraries.Recorded then = new MappedLibraries.Recorded(lib.toString(), 4, mtime.toMillis(), "",
                ContentDigests.of(lib));
        assertTrue(MappedLibraries.misfit(List.of(then)).isEmpty());
        Thread.sleep(20); // the change time must move on
        Files.write(lib, new byte[] {1, 2, 3, 5});
        Files.setLastModifiedTime(lib, mtime);
        assertEquals("library " + lib + " changed since the checkpoint (same size, other contents)",
                MappedLibraries.misfit(List.of(then)).orElseThrow());
        Files.write(lib, new byte[] {1, 2, 3});
        assertTrue(MappedLibraries.misfit(List.of(then)).orElseThrow().contains("(4 bytes then, 3 now)"));
        Files.delete(lib);
        assertEquals("library " + lib + " is gone or unreadable", MappedLibraries.misfit(List.of(then)).orElseThrow());
    }

    @Test
    @DisplayName("a cached digest is used without reading the file; the cache file is 0600")
    void cacheHit() throws Exception {
        Path lib = dir.resolve("libbig.so");
        Files.write(lib, new byte[1 << 20]);
        String first = ContentDigests.of(lib);
        int reads = ContentDigests.reads();
        assertEquals(first, ContentDigests.of(lib));
        assertEquals(reads, ContentDigests.reads(), "a second digest of the same version reads nothing");
        ContentDigests.save();
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(ContentDigests.store())));
        ContentDigests.forget(); // as a new launcher: from the file
        assertEquals(first, ContentDigests.of(lib));
        assertEquals(reads, ContentDigests.reads(), "a new process takes it from the cache file");
        Files.write(lib, new byte[(1 << 20) - 1]);
        assertNotEquals(first, ContentDigests.of(lib));
        assertEquals(reads + 1, ContentDigests.reads());
    }

    @Test
    @DisplayName("a cache file writable by group or others, or a link, is not believed")
    void untrustedCache() throws Exception {
        Path f = Files.writeString(dir.resolve("cache.properties"), "x=1");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        assertTrue(ContentDigests.trusted(f));
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-rw----"));
        assertFalse(ContentDigests.trusted(f));
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r---w-"));
        assertFalse(ContentDigests.trusted(f));
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        assertFalse(ContentDigests.trusted(Files.createSymbolicLink(dir.resolve("link"), f)));
        assertFalse(ContentDigests.trusted(dir.resolve("missing")));
    }
}
