package dev.cryo;

import static dev.cryo.ChildJvm.app;
import static dev.cryo.ChildJvm.images;
import static dev.cryo.ChildJvm.launcher;
import static dev.cryo.ChildJvm.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.ChildJvm.Result;
import dev.cryo.internal.ImageManifest;
import dev.cryo.internal.ImageMetadata;
import dev.cryo.internal.ImageStore;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults in the image, injected into real images that real CRIU made: each is refused with its
 * reason or killed, the app starts cold, the image is marked bad and the cold app's checkpoint
 * replaces it. docs/faults.md has the table.
 */
@DisplayName("images that are damaged, forged or hang are refused, and replaced")
class IntegrityEndToEndTest {
    @TempDir
    Path dir;

    private Path store() {
        return dir.resolve("store");
    }

    private static final List<String> APP = app("--entries", "1000", "--exit-after");

    /** The first image, made by a cold start. */
    private Path firstImage(Map<String, String> env) throws Exception {
        Result cold = run(launcher(store(), List.of(), APP), dir, "cold", env);
        assertEquals(0, cold.exit(), cold::toString);
        assertTrue(wrote(cold), cold::toString);
        assertEquals(1, images(store()).size(), cold::toString);
        Path image = images(store()).get(0);
        ChildJvm.awaitGone(Long.parseLong(cold.line("STATE entries=").replaceAll(".*pid=(\\d+).*", "$1")));
        return image;
    }

    /** The app's checkpoint wrote an image (it exits after it, so prints no outcome). */
    private static boolean wrote(Result r) {
        return r.err().contains("Checkpoint image ") && r.err().contains(" written to ");
    }

    private static Path largestPages(Path image) throws Exception {
        try (Stream<Path> files = Files.list(image)) {
            return files.filter(p -> p.getFileName().toString().startsWith("pages-"))
                    .max((a, b) -> Long.compare(a.toFile().length(), b.toFile().length())).orElseThrow();
        }
    }

    private static String id(Path image) {
        return image.getFileName().toString().substring(ImageStore.IMAGE_PREFIX.length());
    }

    /** The cold start after a refusal wrote a new image beside the bad one, and the next start restores it. */
    private void assertReplaced(Path bad, Result cold, Map<String, String> env) throws Exception {
        assertTrue(wrote(cold), "the cold app wrote a new image, not SKIPPED:\n" + cold);
        assertEquals(2, images(store()).size(), cold::toString);
        assertTrue(Files.isRegularFile(bad.resolve(ImageStore.BAD_MARK)), "the refused image is marked bad");
        ChildJvm.awaitGone(Long.parseLong(cold.line("STATE entries=").replaceAll(".*pid=(\\d+).*", "$1")));
        Result next = run(launcher(store(), List.of(), APP), dir, "next", env);
        assertEquals(0, next.exit(), next::toString);
        assertTrue(next.has("OUTCOME RESTORED"), "the new image restores:\n" + next);
        assertFalse(next.has("OUTCOME RESTORED " + id(bad)), next::toString);
        assertTrue(new ImageStore(store()).images().get(1).defect().orElseThrow().startsWith("it was marked bad: "));
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    @DisplayName("bytes flipped in a pages file: refused naming the file, cold start, a new image replaces it")
    void flippedPages() throws Exception {
        Path image = firstImage(Map.of());
        Path pages = largestPages(image);
        try (FileChannel ch = FileChannel.open(pages, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long at = ch.size() / 2;
            ByteBuffer b = ByteBuffer.allocate(3);
            ch.read(b, at);
            for (int i = 0; i < 3; i++) {
                b.put(i, (byte) ~b.get(i));
            }
            ch.write(b.flip(), at);
        }
        Result r = run(launcher(store(), List.of(), APP), dir, "flipped");
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.err().contains("image " + id(image) + " refused: " + pages.getFileName() + " differs from its manifest"),
                r::toString);
        assertTrue(r.err().contains("It is marked bad and will be replaced. Starting cold."), r::toString);
        assertFalse(r.has("CRYO RESTORED"), r::toString);
        assertReplaced(image, r, Map.of());
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    @DisplayName("a truncated pages file with its size edited in the metadata: refused, the metadata was changed")
    void truncatedWithEditedMetadata() throws Exception {
        Path image = firstImage(Map.of());
        truncateWithMetadata(image);
        Result r = run(launcher(store(), List.of(), APP), dir, "truncated");
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.err().contains("image " + id(image) + " cannot be used: its " + ImageMetadata.FILE_NAME
                + " was changed after the image was made"), r::toString);
        assertTrue(wrote(r), r::toString);
        assertEquals(2, images(store()).size(), r::toString);
    }

    /** Cuts the image's largest pages file in half and edits its size in the metadata to match. */
    private static void truncateWithMetadata(Path image) throws Exception {
        Path pages = largestPages(image);
        long half;
        try (FileChannel ch = FileChannel.open(pages, StandardOpenOption.WRITE)) {
            half = ch.size() / 2 / 4096 * 4096;
            ch.truncate(half);
        }
        Path meta = image.resolve(ImageMetadata.FILE_NAME);
        Files.writeString(meta, Files.readString(meta).replaceAll("file\\." + pages.getFileName() + "=\\d+",
                "file." + pages.getFileName() + "=" + half));
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    @DisplayName("CRYO_IMAGE_KEY: signed images restore; unsigned or signed with another key are refused and replaced")
    void imageKey() throws Exception {
        Map<String, String> key = Map.of("CRYO_IMAGE_KEY", "first key");
        Path unsigned = firstImage(Map.of());
        Result r = run(launcher(store(), List.of(), APP), dir, "keyed", key);
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.err().contains("image " + id(unsigned) + " cannot be used: its " + ImageManifest.FILE_NAME
                + " carries no HMAC, and CRYO_IMAGE_KEY is set"), r::toString);
        assertTrue(wrote(r), "a signed image is written:\n" + r);
        ChildJvm.awaitGone(Long.parseLong(r.line("STATE entries=").replaceAll(".*pid=(\\d+).*", "$1")));
        Result signed = run(launcher(store(), List.of(), APP), dir, "signed", key);
        assertTrue(signed.has("OUTCOME RESTORED"), "the signed image restores with the key:\n" + signed);
        Result other = run(launcher(store(), List.of(), APP), dir, "other", Map.of("CRYO_IMAGE_KEY", "another key"));
        assertTrue(other.err().contains("HMAC does not match CRYO_IMAGE_KEY"), other::toString);
        assertFalse(other.has("CRYO RESTORED"), other::toString);
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    @DisplayName("a restore that hangs (truncated pages, metadata and manifest made to match) is killed at its limit: cold,"
            + " nothing left, replaced")
    void hangingRestore() throws Exception {
        Path image = firstImage(Map.of());
        long pid = Long.parseLong(Files.readString(image.resolve(ImageMetadata.FILE_NAME)).replaceAll("(?s).*\npid=(\\d+).*", "$1"));
        truncateWithMetadata(image);
        ImageStore.seal(image, ImageMetadata.read(image)); // a fault the manifest cannot see: CRIU must be stopped

        Path tmp = Files.createDirectories(dir.resolve("launcher-tmp"));
        List<String> cmd = new ArrayList<>(launcher(store(), List.of("--restore-timeout", "5", "--restore-mode", "eager"),
                APP));
        cmd.add(1, "-Djava.io.tmpdir=" + tmp);
        long start = System.nanoTime();
        Result r = run(cmd, dir, "hang");
        long ms = (System.nanoTime() - start) / 1_000_000;
        System.out.println("hanging restore, launcher and cold app: " + ms + " ms\n" + r);
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.err().contains("restore of image " + id(image) + " failed: its restore did not finish within 5.0 s"
                + " and was killed"), r::toString);
        assertTrue(r.err().contains("Starting cold instead."), r::toString);
        assertFalse(r.has("CRYO RESTORED"), r::toString);
        assertTrue(ms < 60_000, "the launcher and its cold app took " + ms + " ms");
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(List.of(), left.filter(p -> p.getFileName().toString().startsWith("cryo-restore-")).toList(),
                    "the restore's working directory is gone");
        }
        assertFalse(ProcessHandle.of(pid).isPresent(), "no process of the restored tree is left (pid " + pid + ")");
        assertReplaced(image, r, Map.of());
    }
}
