package dev.cryo;

import static dev.cryo.ChildJvm.images;
import static dev.cryo.ChildJvm.launcher;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.ChildJvm.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files the app holds open change between checkpoint and restore (Modal: writes are not checkpointed). */
@DisplayName("Files around the snapshot")
class FilesEndToEndTest {
    @TempDir
    Path dir;
    Path data;
    Path store;
    byte[] original;

    @BeforeEach
    void files() throws Exception {
        data = dir.resolve("data.bin");
        store = dir.resolve("store");
        original = bytes(8192, 1);
        Files.write(data, original);
    }

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static String sha(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b)).substring(0, 16);
    }

    private Result start(String name, String... mode) throws Exception {
        List<String> args = new java.util.ArrayList<>(List.of(dir.toString()));
        args.addAll(List.of(mode));
        return ChildJvm.run(launcher(store, List.of(), ChildJvm.java("dev.cryo.testapp.FilesApp",
                args.toArray(String[]::new))), dir, name);
    }

    @Test
    @DisplayName("a stored file that changed is put back before the restore, and the app reads the old contents")
    void storedFileIsPutBack() throws Exception {
        Result first = start("first", "--store");
        assertEquals(0, first.exit(), first::toString);
        assertEquals(1, images(store).size(), first::toString);

        Files.write(data, bytes(5000, 2)); // another size: CRIU alone would refuse the restore
        Result restored = start("restored", "--store");
        assertTrue(restored.err().contains("put back " + data + " as it was at checkpoint"), restored::toString);
        assertTrue(restored.err().contains("CRYO RESTORED"), restored::toString);
        assertEquals("REST " + sha(Arrays.copyOfRange(original, 4096, 8192)), restored.line("REST "), restored::toString);
        assertArrayEquals(original, Files.readAllBytes(data), "the file is as it was at checkpoint");
    }

    @Test
    @DisplayName("an open file that changed size: the launcher names it and starts cold instead of failing in CRIU")
    void changedOpenFileStartsCold() throws Exception {
        Result first = start("first");
        assertEquals(0, first.exit(), first::toString);

        byte[] changed = bytes(5000, 3);
        Files.write(data, changed);
        Result next = start("next");
        assertEquals(0, next.exit(), next::toString);
        assertTrue(next.err().contains("the app had " + data + " open at checkpoint with 8192 bytes; it has 5000 now"),
                next::toString);
        assertFalse(next.err().contains("CRYO RESTORED"), next::toString);
        assertEquals("FIRST " + sha(Arrays.copyOf(changed, 4096)), next.line("FIRST "), "a cold start reads the new file");
    }

    @Test
    @DisplayName("an image refused for a changed file is superseded: the cold start checkpoints anew, the next start restores")
    void refusedImageIsReplaced() throws Exception {
        assertEquals(0, start("first").exit());
        byte[] changed = bytes(5000, 5);
        Files.write(data, changed);
        Result cold = start("cold");
        assertEquals(0, cold.exit(), cold::toString);
        assertTrue(cold.err().contains("cannot be restored now: the app had " + data), cold::toString);
        assertFalse(cold.has("OUTCOME SKIPPED"), "the app does not take the refused image for its own:\n" + cold);
        assertEquals(2, images(store).size(), "a new image beside the refused one:\n" + cold);
        Result next = start("next");
        assertTrue(next.err().contains("CRYO RESTORED"), next::toString);
        assertEquals("REST " + sha(Arrays.copyOfRange(changed, 4096, 5000)), next.line("REST "), next::toString);
    }

    @Test
    @DisplayName("an open file changed with the same size: restored, with a warning naming it")
    void sameSizeChangeIsReported() throws Exception {
        Result first = start("first");
        assertEquals(0, first.exit(), first::toString);

        byte[] changed = bytes(8192, 4);
        Files.write(data, changed);
        Files.setLastModifiedTime(data, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5000));
        Result restored = start("restored");
        assertTrue(restored.err().contains("warning: " + data + " changed since the checkpoint (same size)"),
                restored::toString);
        assertTrue(restored.err().contains("CRYO RESTORED"), restored::toString);
        assertEquals("REST " + sha(Arrays.copyOfRange(changed, 4096, 8192)), restored.line("REST "),
                "the restored app reads the new contents, as the warning says");
    }

    @Test
    @DisplayName("asking to store a directory is refused before anything is disturbed")
    void storingADirectoryIsRefused() throws Exception {
        Result r = start("dir", "--store-dir");
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.has("CHECKPOINT-EXCEPTION STORED_FILE Cannot keep " + dir + " in the image: " + dir
                + " is not a regular file"), r::toString);
        assertTrue(images(store).isEmpty());
    }
}
