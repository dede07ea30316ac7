package dev.cryo.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageManifestTest {
    @TempDir
    Path dir;

    private ImageStore.Image commit(ImageStore store, String id) throws Exception {
        return TestImages.commit(store, TestImages.metadata(id, "k"));
    }

    @Test
    @DisplayName("commit writes a manifest with every file's pieces; an unchanged image matches it")
    void committedImageMatches() throws Exception {
        ImageStore.Image image = commit(new ImageStore(dir.resolve("s")), "20260101T000000Z-aa");
        ImageManifest m = ImageManifest.read(image.dir(), Optional.empty());
        assertEquals(java.util.Set.of("inventory.img", "pages-1.img"), m.files().keySet());
        assertEquals(1, m.files().get("pages-1.img").digests().size());
        assertEquals(Optional.empty(), image.contentMismatch().join());
    }

    @Test
    @org.junit.jupiter.api.Timeout(60)
    @DisplayName("a background check that is cancelled (the launcher guessed another image) stops its readers")
    void cancelledCheckStops() throws Exception {
        ImageStore store = new ImageStore(dir.resolve("s"));
        Path tmp = store.begin("x");
        Files.write(tmp.resolve("inventory.img"), new byte[] {1});
        Files.write(tmp.resolve("pages-1.img"), new byte[(int) (ImageManifest.CHUNK_BYTES * 4)]);
        store.commit(tmp, TestImages.metadata("20260101T000000Z-cc", "k"));
        ImageStore.Image image = store.images().get(0);
        java.util.concurrent.CompletableFuture<Optional<String>> check = image.contentMismatch();
        check.cancel(false);
        assertTrue(check.isCancelled());
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().startsWith("cryo-image-hash-"))) {
            assertTrue(System.nanoTime() < deadline, "the hashing threads still run 20 s after the cancel");
            Thread.sleep(20);
        }
        assertEquals(Optional.empty(), image.contentMismatch().join(), "a new check of the same image still runs whole");
    }

    @Test
    @DisplayName("one flipped byte in a large file: the mismatch names the file and the piece")
    void flippedByte() throws Exception {
        ImageStore store = new ImageStore(dir.resolve("s"));
        Path tmp = store.begin("x");
        Files.write(tmp.resolve("inventory.img"), new byte[] {1});
        byte[] pages = new byte[(int) (ImageManifest.CHUNK_BYTES * 2 + 100)];
        new Random(1).nextBytes(pages);
        Files.write(tmp.resolve("pages-1.img"), pages);
        store.commit(tmp, TestImages.metadata("20260101T000000Z-bb", "k"));
        ImageStore.Image image = store.images().get(0);
        assertEquals(3, ImageManifest.read(image.dir(), Optional.empty()).files().get("pages-1.img").digests().size());
        try (FileChannel ch = FileChannel.open(image.dir().resolve("pages-1.img"), StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {(byte) ~pages[(int) ImageManifest.CHUNK_BYTES + 7]}),
                    ImageManifest.CHUNK_BYTES + 7);
        }
        assertTrue(image.defect().isEmpty(), "sizes are unchanged: only reading finds it");
        String why = image.contentMismatch().join().orElseThrow();
        assertTrue(why.startsWith("pages-1.img differs from its manifest (the CRC32C of bytes " + ImageManifest.CHUNK_BYTES
                + "-" + 2 * ImageManifest.CHUNK_BYTES), why);
        ImageManifest sha = ImageManifest.of(image.dir(), image.metadata().files().keySet(), java.util.Set.of(),
                ImageManifest.SHA256);
        sha.write(image.dir(), Optional.empty()); // taken after the flip: matches; flip it back
        try (FileChannel ch = FileChannel.open(image.dir().resolve("pages-1.img"), StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {pages[(int) ImageManifest.CHUNK_BYTES + 7]}),
                    ImageManifest.CHUNK_BYTES + 7);
        }
        String shaWhy = sha.mismatch(image.dir()).orElseThrow();
        assertTrue(shaWhy.startsWith("pages-1.img differs from its manifest (the SHA-256 of bytes"), shaWhy);
    }

    @Test
    @DisplayName("no manifest, or metadata changed after it: the image is defective")
    void missingManifestOrChangedMetadata() throws Exception {
        ImageStore store = new ImageStore(dir.resolve("s"));
        ImageStore.Image image = commit(store, "20260101T000000Z-cc");
        Path meta = image.dir().resolve(ImageMetadata.FILE_NAME);
        Files.writeString(meta, Files.readString(meta).replace("pid=4242", "pid=4243"));
        assertTrue(store.images().get(0).defect().orElseThrow().contains("was changed after the image was made"));
        Files.delete(image.dir().resolve(ImageManifest.FILE_NAME));
        assertTrue(store.images().get(0).defect().orElseThrow().startsWith("it has no " + ImageManifest.FILE_NAME));
    }

    @Test
    @DisplayName("with a key: a signed manifest reads back; unsigned, or signed with another key, is refused")
    void hmac() throws Exception {
        ImageStore.Image image = commit(new ImageStore(dir.resolve("s")), "20260101T000000Z-dd");
        Optional<byte[]> key = Optional.of("secret".getBytes(StandardCharsets.UTF_8));
        IOException unsigned = assertThrows(IOException.class, () -> ImageManifest.read(image.dir(), key));
        assertTrue(unsigned.getMessage().contains("carries no HMAC, and CRYO_IMAGE_KEY is set"), unsigned::getMessage);

        ImageManifest.read(image.dir(), Optional.empty()).write(image.dir(), key);
        IOException crc = assertThrows(IOException.class, () -> ImageManifest.read(image.dir(), key));
        assertTrue(crc.getMessage().contains("has CRC32C digests, which a key cannot vouch for"), crc::getMessage);

        ImageManifest m = ImageManifest.of(image.dir(), image.metadata().files().keySet(), java.util.Set.of(),
                ImageManifest.SHA256);
        m.write(image.dir(), key);
        assertEquals(m, ImageManifest.read(image.dir(), key));
        IOException other = assertThrows(IOException.class,
                () -> ImageManifest.read(image.dir(), Optional.of("other".getBytes(StandardCharsets.UTF_8))));
        assertTrue(other.getMessage().contains("HMAC does not match CRYO_IMAGE_KEY"), other::getMessage);

        Path file = image.dir().resolve(ImageManifest.FILE_NAME);
        Files.writeString(file, Files.readString(file).replace("file.pages-1.img.bytes=4096", "file.pages-1.img.bytes=4095"));
        IOException edited = assertThrows(IOException.class, () -> ImageManifest.read(image.dir(), key));
        assertTrue(edited.getMessage().contains("HMAC does not match"), edited::getMessage);
    }

    @Test
    @DisplayName("a bad image never fits, says why, and only the newest bad ones are kept")
    void badImages() throws Exception {
        ImageStore store = new ImageStore(dir.resolve("s"));
        for (String id : new String[] {"20260101T000001Z-a", "20260101T000002Z-b", "20260101T000003Z-c",
                "20260101T000004Z-d"}) {
            commit(store, id);
        }
        for (ImageStore.Image i : store.images().subList(1, 4)) {
            ImageStore.markBad(i.dir(), "its restore failed: boom");
        }
        assertTrue(store.images().get(0).defect().isEmpty());
        assertEquals("it was marked bad: its restore failed: boom", store.images().get(1).defect().orElseThrow());
        ImageFit fit = new ImageFit(new BuildKey.Parts("k", java.util.Map.of()), RuntimeKey.current(),
                java.util.List.of(), java.util.Map.of());
        assertEquals("cannot be used: it was marked bad: its restore failed: boom",
                fit.misfit(store.images().get(1)).orElseThrow());
        assertEquals(java.util.List.of("20260101T000001Z-a"), store.pruneBad(2));
        assertEquals(java.util.List.of("20260101T000004Z-d", "20260101T000003Z-c", "20260101T000002Z-b"),
                store.images().stream().map(ImageStore.Image::id).toList());
    }
}
