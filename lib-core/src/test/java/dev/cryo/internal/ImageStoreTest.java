package dev.cryo.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageStoreTest {
    @TempDir
    Path dir;

    private ImageStore.Image commitFake(ImageStore store, String id) throws Exception {
        return TestImages.commit(store, TestImages.metadata(id, "k"));
    }

    @Test
    @DisplayName("commit lists every file with its size and renames into img-<id>")
    void commit() throws Exception {
        ImageStore store = new ImageStore(dir.resolve("s"));
        ImageStore.Image image = commitFake(store, "20260101T000000Z-aa");
        assertEquals("20260101T000000Z-aa", image.id());
        assertEquals(Map.of("inventory.img", 3L, "pages-1.img", 4096L), image.metadata().files());
        assertEquals(4099, image.metadata().imageBytes());
        assertTrue(image.defect().isEmpty(), image.defect()::toString);
        assertTrue(store.root().resolve(".").toFile().list().length == 1, "only the image is left");
    }

    @Test
    @DisplayName("a truncated or missing file makes the image defective")
    void defects() throws Exception {
        ImageStore store = new ImageStore(dir.resolve("s"));
        ImageStore.Image image = commitFake(store, "20260101T000000Z-bb");
        Files.write(image.dir().resolve("pages-1.img"), new byte[10]);
        assertTrue(store.images().get(0).defect().orElseThrow().contains("pages-1.img is 10 bytes"));
        Files.delete(image.dir().resolve("pages-1.img"));
        assertTrue(store.images().get(0).defect().orElseThrow().contains("missing"));
        Files.delete(image.dir().resolve(ImageMetadata.FILE_NAME));
        assertTrue(store.images().get(0).defect().orElseThrow().contains("no readable"));
    }

    @Test
    @DisplayName("abort keeps CRIU's log and removes the rest; stale temporaries of dead writers go")
    void abortAndStale() throws Exception {
        ImageStore store = new ImageStore(dir.resolve("s"));
        Path tmp = store.begin("x");
        Files.writeString(tmp.resolve("dump.log"), "Error (criu): boom");
        assertTrue(store.abort(tmp, "dump.log").isPresent());
        assertFalse(Files.exists(tmp));
        assertEquals("Error (criu): boom", Files.readString(store.root().resolve(ImageStore.FAILED_LOG)));

        Path live = store.begin("mine");                       // this process: alive, kept
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(live.resolve(ImageStore.OWNER))));
        Path dead = Files.createDirectory(store.root().resolve(".tmp-old-2147483646"));
        ProcessClaim.create(dead.resolve(ImageStore.OWNER), new ProcessClaim.Owner(ProcessClaim.currentBootId(),
                ProcessClaim.currentPidNamespace(), 1, 2147483646));
        Path unclaimed = Files.createDirectory(store.root().resolve(".tmp-unclaimed-1"));   // fresh: may be starting
        Path abandoned = Files.createDirectory(store.root().resolve(".tmp-abandoned-1"));   // no claim, over the limit
        Files.setLastModifiedTime(abandoned, java.nio.file.attribute.FileTime.from(
                java.time.Instant.now().minus(ProcessClaim.FOREIGN_LIMIT).minusSeconds(60)));
        assertEquals(2, store.removeStale());
        assertTrue(Files.exists(live));
        assertTrue(Files.exists(unclaimed));
        assertFalse(Files.exists(dead));
        assertFalse(Files.exists(abandoned));
        store.commit(live, TestImages.metadata("mine", "k"));
        assertFalse(Files.exists(store.imagePath("mine").resolve(ImageStore.OWNER)), "the claim is not part of the image");
    }

    @Test
    @DisplayName("image ids sort by time and differ")
    void ids() {
        String a = ImageStore.newId();
        String b = ImageStore.newId();
        assertFalse(a.equals(b));
        assertTrue(a.matches("\\d{8}T\\d{6}Z-[0-9a-f]{8}"), a);
    }
}
