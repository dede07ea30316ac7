package dev.cryo.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.internal.BuildKey;
import dev.cryo.internal.DeviceMemoryFiles;
import dev.cryo.internal.ImageMetadata;
import dev.cryo.internal.ImageStore;
import dev.cryo.internal.RemoteImages;
import dev.cryo.internal.RuntimeKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;

/** S3Images against a real S3 server (S3Proxy); two nodes of a fleet are two $CRYO_HOME directories. */
@Timeout(120)
class S3ImagesTest {
    static final String URI = "s3://" + S3Server.BUCKET + "/apps/demo";

    @TempDir
    Path tmp;
    S3Server server;
    final List<AutoCloseable> open = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        server = new S3Server(tmp.resolve("server"));
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
        server.close();
    }

    S3Images node(String name, String... env) throws IOException {
        S3Images images = S3Images.open(URI, tmp.resolve(name), server.env(env)::get);
        open.add(images);
        return images;
    }

    /** Commits an image of build {@code key} with a page file of {@code bytes} random bytes into the node's cache. */
    static Path commit(S3Images node, String key, int bytes) throws IOException {
        String id = ImageStore.newId();
        ImageMetadata m = new ImageMetadata(id, "2026-12-02T00:00:00Z", new BuildKey.Parts(key, Map.of()),
                new ImageMetadata.Process(4242, List.of("java", "Main"), "/work", "Main", "25", "VM", "/jdk", "amd64",
                        "6.18", 1 << 20, Map.of(0, "pipe:[1]")),
                Optional.of(RuntimeKey.current()), new ImageMetadata.Criu("4.2.1", "/tmp/.tmp-x", false, false, false),
                List.of(), List.of(), Optional.empty(), List.of(), DeviceMemoryFiles.Layout.NONE,
                new ImageMetadata.Timings(0, 0, Map.of()), Map.of(),
                Optional.of(dev.cryo.internal.EnvironmentDigest.current().digests()), List.of());
        Path dir = node.cache().begin(id);
        Files.write(dir.resolve("inventory.img"), new byte[] {1, 2, 3});
        byte[] pages = new byte[bytes];
        new Random(id.hashCode()).nextBytes(pages);
        Files.write(dir.resolve("pages-1.img"), pages);
        Files.writeString(dir.resolve("dump.log"), "log");
        return node.cache().commit(dir, m);
    }

    @Test
    @DisplayName("an image published on one node is fetched bit-exact on another, then used from the cache")
    void publishThenFetch() throws Exception {
        S3Images a = node("a");
        Path image = commit(a, "k1", 23 << 20); // 5 parts of 5 MiB
        assertEquals(Optional.empty(), a.claim("k1-r"));
        RemoteImages.Manifest published = a.publish(image, "k1-r");

        S3Images b = node("b");
        List<RemoteImages.Manifest> listed = b.manifests();
        assertEquals(1, listed.size());
        assertEquals(published.id(), listed.get(0).id());
        assertEquals("k1", listed.get(0).metadata().buildKey());
        assertFalse(listed.get(0).files().containsKey("dump.log"), "logs stay local");
        Path fetched = b.fetch(listed.get(0));
        assertEquals(tmp.resolve("b/cache/fleet/apps/demo/img-" + published.id()), fetched);
        for (String f : List.of("inventory.img", "pages-1.img", ImageMetadata.FILE_NAME)) {
            assertEquals(S3Images.sha256(image.resolve(f)), S3Images.sha256(fetched.resolve(f)), f);
        }
        ImageStore.Image cached = b.cache().images().get(0);
        assertEquals(Optional.empty(), cached.defect());

        server.stop(); // the cached image needs no server
        assertEquals(fetched, b.fetch(listed.get(0)));
        server.start();
    }

    @Test
    @DisplayName("two nodes claim one build at once: exactly one wins, the other is told who holds it")
    void oneClaimWins() throws Exception {
        S3Images a = node("a");
        S3Images b = node("b");
        ExecutorService two = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 5; round++) { // S3Proxy checks and writes in two steps: race it
                String key = "k2-r" + round;
                CountDownLatch go = new CountDownLatch(1);
                Future<Optional<String>> fa = two.submit(() -> {
                    go.await();
                    return a.claim(key);
                });
                Future<Optional<String>> fb = two.submit(() -> {
                    go.await();
                    return b.claim(key);
                });
                go.countDown();
                Optional<String> ra = fa.get();
                Optional<String> rb = fb.get();
                assertTrue(ra.isEmpty() != rb.isEmpty(), "one claim only: " + ra + " / " + rb);
                String loser = ra.orElseGet(rb::get);
                assertTrue(loser.contains("pid " + ProcessHandle.current().pid()), loser);
            }
        } finally {
            two.shutdownNow();
        }
        a.release("k2-r0");
        assertEquals(Optional.empty(), b.claim("k2-r0"), "a claim given back can be taken");
    }

    @Test
    @DisplayName("the server stops mid-upload: the publish fails, no manifest exists, no node uses it, a later publish clears it")
    void serverStopsMidUpload() throws Exception {
        S3Images a = node("a");
        Path image = commit(a, "k3", 30 << 20);
        AtomicBoolean stopped = new AtomicBoolean();
        a.afterUploadedPart = () -> {
            if (stopped.compareAndSet(false, true)) {
                try {
                    server.stop();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        };
        IOException e = assertThrows(IOException.class, () -> a.publish(image, "k3-r"));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        server.start();
        S3Images b = node("b", "CRYO_S3_CLAIM_TIMEOUT_S", "0");
        assertEquals(List.of(), b.manifests());
        assertTrue(Files.isDirectory(image), "the local image stays: " + image);
        String cutOff = image.getFileName().toString().substring(ImageStore.IMAGE_PREFIX.length());
        assertTrue(b.client().listObjectsV2(r -> r.bucket(b.bucket()).prefix(b.imageKey(cutOff, ""))).keyCount() > 0,
                "the upload left parts behind");
        Thread.sleep(1100); // older than the claim timeout (0 s) by the server's clock, to the second
        b.publish(commit(b, "k3b", 1 << 20), "k3b-r"); // the next publish clears what was cut off
        assertEquals(0, b.client().listObjectsV2(r -> r.bucket(b.bucket()).prefix(b.imageKey(cutOff, ""))).keyCount());
        assertEquals(1, b.manifests().size());
    }

    @Test
    @DisplayName("a corrupted or truncated object is refused, named, and nothing of it stays in the cache")
    void damagedObjectsAreRefused() throws Exception {
        S3Images a = node("a");
        Path image = commit(a, "k4", 12 << 20);
        RemoteImages.Manifest m = a.publish(image, "k4-r");
        byte[] pages = Files.readAllBytes(image.resolve("pages-1.img"));
        pages[pages.length / 2] ^= 1;
        a.client().putObject(r -> r.bucket(a.bucket()).key(a.imageKey(m.id(), "pages-1.img")), RequestBody.fromBytes(pages));
        S3Images b = node("b");
        IOException corrupt = assertThrows(IOException.class, () -> b.fetch(b.manifests().get(0)));
        assertTrue(corrupt.getMessage().contains("pages-1.img has SHA-256"), corrupt.getMessage());
        assertEquals(List.of(), b.cache().images());

        byte[] shorter = java.util.Arrays.copyOf(pages, pages.length - 4096);
        a.client().putObject(r -> r.bucket(a.bucket()).key(a.imageKey(m.id(), "pages-1.img")), RequestBody.fromBytes(shorter));
        IOException truncated = assertThrows(IOException.class, () -> b.fetch(b.manifests().get(0)));
        assertTrue(truncated.getMessage().contains("pages-1.img") && truncated.getMessage().contains("truncated"),
                truncated.getMessage());
        assertEquals(List.of(), b.cache().images());
        try (var left = Files.list(b.cache().root())) {
            assertTrue(left.noneMatch(p -> p.getFileName().toString().startsWith(ImageStore.TEMP_PREFIX)));
        }
    }

    @Test
    @DisplayName("no credentials or a wrong endpoint: one line naming the variable to set")
    void unreachable() throws Exception {
        System.setProperty("aws.disableEc2Metadata", "true");
        Map<String, String> noKeys = server.env();
        noKeys.remove(S3Settings.ACCESS_KEY);
        noKeys.remove(S3Settings.SECRET_KEY);
        IOException none = assertThrows(IOException.class, () -> S3Images.open(URI, tmp.resolve("a"), noKeys::get));
        assertTrue(none.getMessage().contains("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"), none.getMessage());

        Map<String, String> wrong = server.env(S3Settings.ENDPOINT, "http://127.0.0.1:1");
        IOException refused = assertThrows(IOException.class, () -> S3Images.open(URI, tmp.resolve("a"), wrong::get));
        assertTrue(refused.getMessage().contains("set AWS_ENDPOINT_URL"), refused.getMessage());
        assertFalse(refused.getMessage().contains("\n"), refused.getMessage());

        Map<String, String> badKey = server.env(S3Settings.SECRET_KEY, "wrong");
        IOException denied = assertThrows(IOException.class, () -> S3Images.open(URI, tmp.resolve("a"), badKey::get));
        assertTrue(denied.getMessage().contains("AWS_SECRET_ACCESS_KEY"), denied.getMessage());
    }
}
