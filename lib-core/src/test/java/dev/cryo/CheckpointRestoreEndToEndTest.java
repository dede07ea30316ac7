package dev.cryo;

import static dev.cryo.ChildJvm.app;
import static dev.cryo.ChildJvm.images;
import static dev.cryo.ChildJvm.launcher;
import static dev.cryo.ChildJvm.run;
import static dev.cryo.ChildJvm.temporaries;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.ChildJvm.Result;
import dev.cryo.internal.ImageMetadata;
import dev.cryo.internal.ImageStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole path, for real: a child JVM builds state, checkpoints itself with CRIU, and the
 * launcher restores it from the image; the restored process proves its state is the same.
 */
@DisplayName("checkpoint and restore of a real JVM")
class CheckpointRestoreEndToEndTest {
    @TempDir
    Path dir;

    private Path store() {
        return dir.resolve("store");
    }

    static String stateHash(Result r) {
        return r.line("STATE entries=").replaceAll(".* hash=(\\S+).*", "$1");
    }

    static String afterHash(Result r) {
        return r.line("STATE-AFTER").replaceAll(".*hash=(\\S+).*", "$1");
    }

    @Test
    @DisplayName("the original keeps running after its checkpoint, and the image restores twice with the same state")
    void leaveRunningThenRestoreTwice() throws Exception {
        Result cold = run(launcher(store(), List.of(), app()), dir, "cold");
        assertEquals(0, cold.exit(), cold::toString);
        assertTrue(cold.has("OUTCOME CHECKPOINTED"), cold::toString);
        assertEquals(List.of("BEFORE R3", "BEFORE R2", "BEFORE R1"), cold.lines("BEFORE"), "reverse order");
        assertEquals(List.of("AFTER R1 CHECKPOINTED", "AFTER R2 CHECKPOINTED", "AFTER R3 CHECKPOINTED"),
                cold.lines("AFTER"), "registration order");
        assertEquals(stateHash(cold), afterHash(cold));
        assertTrue(cold.has("DONE"), "the original goes on after its checkpoint");
        assertTrue(cold.err().contains("No CUDA state in this process"), "one line says the GPU step was skipped");
        List<Path> images = images(store());
        assertEquals(1, images.size(), "one image");
        String id = images.get(0).getFileName().toString().substring("img-".length());

        for (String name : new String[] {"restore1", "restore2"}) {
            Result restored = run(launcher(store(), List.of(), app()), dir, name);
            assertEquals(0, restored.exit(), restored::toString);
            assertTrue(restored.has("OUTCOME RESTORED " + id), restored::toString);
            assertTrue(restored.out().lines().noneMatch(l -> l.startsWith("STATE entries")),
                    "a restored process does not build its state again");
            assertEquals(stateHash(cold), afterHash(restored), "same state after restore");
            assertEquals(List.of("AFTER R1 RESTORED", "AFTER R2 RESTORED", "AFTER R3 RESTORED"),
                    restored.lines("AFTER"));
            assertTrue(restored.err().contains("CRYO RESTORED from checkpoint image " + id), restored::toString);
            assertTrue(restored.err().contains("cryo: restored image " + id), restored::toString);
            assertTrue(restored.has("DONE"));
        }
    }

    @Test
    @DisplayName("a second cold start of the same build skips the checkpoint: its image exists")
    void skipsWhenImageExists() throws Exception {
        List<String> cmd = app("--entries", "1000", "--image", store().toString());
        Result first = run(cmd, dir, "first");
        assertTrue(first.has("OUTCOME CHECKPOINTED"), first::toString);
        Result second = run(cmd, dir, "second");
        assertTrue(second.has("OUTCOME SKIPPED"), second::toString);
        assertTrue(second.err().contains("of this build is already in"), second::toString);
        assertTrue(second.lines("BEFORE").isEmpty(), "nothing is disturbed by a skipped checkpoint");
        assertEquals(1, images(store()).size());
    }

    @Test
    @DisplayName("while one process checkpoints a build, another skips; a claim left by a dead process is taken over")
    void skipsWhileAnotherCheckpoints() throws Exception {
        List<String> cmd = app("--entries", "1000", "--image", store().toString());
        String key = dev.cryo.internal.BuildKey.of(cmd, Path.of("").toAbsolutePath());
        Files.createDirectories(store());
        Process holder = new ProcessBuilder("sleep", "60").start();
        try {
            dev.cryo.internal.ProcessClaim.create(store().resolve(dev.cryo.internal.ImageStore.CLAIM_PREFIX + key),
                    dev.cryo.internal.ProcessClaim.Owner.of(holder.pid()).orElseThrow());
            Result busy = run(cmd, dir, "busy");
            assertTrue(busy.has("OUTCOME SKIPPED"), busy::toString);
            assertTrue(busy.err().contains("another process (pid " + holder.pid()), busy::toString);
        } finally {
            holder.destroyForcibly().waitFor();
        }
        Result after = run(cmd, dir, "after");
        assertTrue(after.has("OUTCOME CHECKPOINTED"), "the dead holder's claim is taken over:\n" + after);
        assertTrue(Files.notExists(store().resolve(dev.cryo.internal.ImageStore.CLAIM_PREFIX + key)),
                "the claim is given back");
    }

    /** What the JDK's own generators give; Cryo reseeds them where their packages are open to it. */
    private static final String[] JDK_GENERATORS = {"threadLocal ", "threadLocalOtherThread ", "mathRandom ",
        "strictMathRandom ", "splittable "};

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    @DisplayName("two restores of one image started by the launcher: registered and JDK generators and UUIDs differ")
    void restoredCopiesDoNotRepeatRandomness() throws Exception {
        List<String> cmd = ChildJvm.java("dev.cryo.testapp.UniquenessApp");
        Result cold = run(launcher(store(), List.of(), cmd), dir, "cold");
        assertEquals(0, cold.exit(), cold::toString);
        assertTrue(cold.err().contains("Picked up JDK_JAVA_OPTIONS: --add-opens=java.base/java.lang=ALL-UNNAMED"),
                "the launcher opens the JDK's generators to Cryo:\n" + cold);
        Result a = run(launcher(store(), List.of(), cmd), dir, "a");
        Result b = run(launcher(store(), List.of(), cmd), dir, "b");
        assertRegisteredDiffer(a, b);
        for (String differs : JDK_GENERATORS) {
            assertFalse(a.line("VALUE " + differs).equals(b.line("VALUE " + differs)), differs + "repeated:\n" + a + b);
        }
        assertFalse(a.err().contains("Not reseeded"), a::toString);
        // Documented limit: an unregistered generator created before the checkpoint repeats.
        assertEquals(a.line("VALUE unregistered "), b.line("VALUE unregistered "));
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    @DisplayName("started with plain java (no opens), restored copies repeat the JDK's generators and say so")
    void withoutOpensJdkGeneratorsRepeatAndAWarningSaysSo() throws Exception {
        List<String> cmd = ChildJvm.java("dev.cryo.testapp.UniquenessApp");
        Result cold = run(cmd, dir, "cold", java.util.Map.of("CRYO_IMAGE_DIR", store().toString()));
        assertEquals(0, cold.exit(), cold::toString);
        assertEquals(1, images(store()).size(), cold::toString);
        Result a = run(launcher(store(), List.of(), cmd), dir, "a");
        Result b = run(launcher(store(), List.of(), cmd), dir, "b");
        assertRegisteredDiffer(a, b);
        for (String repeats : JDK_GENERATORS) {
            assertEquals(a.line("VALUE " + repeats), b.line("VALUE " + repeats), repeats);
        }
        String warning = a.err().lines().filter(l -> l.contains("Not reseeded in this restored copy")).findFirst()
                .orElseGet(() -> org.junit.jupiter.api.Assertions.fail("no warning:\n" + a));
        assertTrue(warning.contains("WARN"), warning);
        assertTrue(warning.contains("ThreadLocalRandom, Math.random(), StrictMath.random(), new SplittableRandom()"),
                warning);
        assertTrue(warning.contains("add --add-opens java.base/java.lang=ALL-UNNAMED --add-opens"
                + " java.base/java.util=ALL-UNNAMED --add-opens java.base/java.util.concurrent=ALL-UNNAMED"), warning);
    }

    /** Both copies were restored, and their registered generators and UUIDs differ. */
    private static void assertRegisteredDiffer(Result a, Result b) {
        assertTrue(a.err().contains("CRYO RESTORED") && b.err().contains("CRYO RESTORED"), a + "\n" + b);
        for (String differs : new String[] {"registered ", "registeredSecure ", "uuid "}) {
            assertFalse(a.line("VALUE " + differs).equals(b.line("VALUE " + differs)), differs + "repeated:\n" + a + b);
        }
    }

    @Test
    @DisplayName("with exitAfterCheckpoint the original exits once the image is written, and the image restores")
    void exitAfterCheckpoint() throws Exception {
        Result cold = run(launcher(store(), List.of(), app("--exit-after")), dir, "cold");
        assertEquals(0, cold.exit(), cold::toString);
        assertFalse(cold.has("OUTCOME"), "the original exits inside checkpointNow()");
        assertFalse(cold.has("AFTER "), "no afterRestore in an original that exits");
        assertEquals(1, images(store()).size());

        Result restored = run(launcher(store(), List.of(), app("--exit-after")), dir, "restored");
        assertEquals(0, restored.exit(), restored::toString);
        assertTrue(restored.has("OUTCOME RESTORED"), restored::toString);
        assertEquals(stateHash(cold), afterHash(restored));
    }

    @Test
    @DisplayName("the restored app's exit status is the launcher's")
    void exitStatusPassesThrough() throws Exception {
        Result cold = run(launcher(store(), List.of(), app("--fail-after", "R2")), dir, "cold");
        assertEquals(4, cold.exit(), cold::toString);
        assertTrue(cold.has("RESTORE-FAILED CHECKPOINTED suppressed=1"), cold::toString);
        assertEquals(3, cold.lines("AFTER").size(), "every resource gets afterRestore even after a failure");
        Result restored = run(launcher(store(), List.of(), app("--fail-after", "R2")), dir, "restored");
        assertTrue(restored.has("RESTORE-FAILED RESTORED suppressed=1"), restored::toString);
        assertEquals(4, restored.exit(), restored::toString);
    }

    @Test
    @DisplayName("SIGTERM to the launcher reaches the app, cold and restored; the exit status is the app's; no orphan")
    void signalsReachTheApp() throws Exception {
        List<String> cmd = app("--linger-ms", "60000");
        for (String name : new String[] {"cold", "restored"}) {
            Process launcher = ChildJvm.start(launcher(store(), List.of(), cmd), dir, name, java.util.Map.of());
            Path out = dir.resolve(name + ".out");
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
            while (!Files.readString(out).contains("STATE-AFTER")) {
                assertTrue(System.nanoTime() < deadline && launcher.isAlive(), name + " never got past its checkpoint");
                Thread.sleep(20);
            }
            long appPid = Long.parseLong(Files.readString(out).replaceAll("(?s).*OUTCOME \\S+ \\S+ pid=(\\d+).*", "$1"));
            new ProcessBuilder("kill", "-TERM", Long.toString(launcher.pid())).start().waitFor();
            Result r = ChildJvm.finish(launcher, dir, name);
            assertEquals(143, r.exit(), "128 + SIGTERM, the app's own status:\n" + r);
            assertTrue(r.has("OUTCOME " + (name.equals("cold") ? "CHECKPOINTED" : "RESTORED")), r::toString);
            ChildJvm.awaitGone(appPid);
        }
    }

    @Test
    @DisplayName("a failing beforeCheckpoint takes no snapshot, rolls back the others, and reports every failure")
    void resourceFailureTakesNoSnapshot() throws Exception {
        Result r = run(launcher(store(), List.of(), app("--fail-before", "R2", "--fail-after", "R3")), dir, "app");
        assertEquals(3, r.exit(), r::toString);
        assertEquals(List.of("BEFORE R3", "BEFORE R2", "BEFORE R1"), r.lines("BEFORE"), "all are notified");
        assertEquals(List.of("AFTER R1 SKIPPED", "AFTER R3 SKIPPED"), r.lines("AFTER"),
                "the resources already notified are rolled back, in registration order");
        // R2's refusal, plus R3's failure during the rollback, both on the one exception.
        assertTrue(r.has("CHECKPOINT-FAILED RESOURCE_FAILED suppressed=2"), r::toString);
        assertTrue(r.has("R2 refuses to checkpoint"), r::toString);
        assertEquals(stateHash(r), afterHash(r));
        assertTrue(images(store()).isEmpty(), "no image");
        assertTrue(temporaries(store()).isEmpty(), "nothing half-written");
    }

    @Test
    @DisplayName("snapshots are readable by their owner only")
    void imagesAreOwnerOnly() throws Exception {
        Result cold = run(launcher(store(), List.of(), app("--entries", "1000")), dir, "cold");
        assertEquals(0, cold.exit(), cold::toString);
        Path image = images(store()).get(0);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(store())));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(image)));
        try (Stream<Path> files = Files.list(image)) {
            for (Path f : files.toList()) {
                assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)), f::toString);
            }
        }
        String meta = Files.readString(image.resolve("cryo-image.properties"));
        for (String key : new String[] {"created=", "java.version=", "command=", "main=", "pid=", "image.bytes=",
                "build.key=", "criu.version="}) {
            assertTrue(meta.contains(key), "metadata has " + key + ":\n" + meta);
        }
    }

    @Test
    @DisplayName("an image made from another command is not restored: the app starts cold and checkpoints anew")
    void foreignImageStartsCold() throws Exception {
        Result first = run(launcher(store(), List.of(), app("--entries", "1000")), dir, "first");
        assertEquals(0, first.exit(), first::toString);
        Result other = run(launcher(store(), List.of(), app("--entries", "2000")), dir, "other");
        assertEquals(0, other.exit(), other::toString);
        assertTrue(other.err().contains("was made from another build: other command line arguments"), other::toString);
        assertTrue(other.has("OUTCOME CHECKPOINTED"), other::toString);
        assertEquals(2, images(store()).size(), "both images live side by side");
    }

    @Test
    @DisplayName("an image made on another CPU is left for that machine: this one starts cold and adds its own")
    void imageOfAnotherRuntimeLivesBeside() throws Exception {
        List<String> cmd = app("--entries", "1000");
        assertEquals(0, run(launcher(store(), List.of(), cmd), dir, "first").exit());
        Path meta = images(store()).get(0).resolve("cryo-image.properties");
        Files.writeString(meta, Files.readString(meta).replaceAll("runtime.cpuFlags=\\w+", "runtime.cpuFlags=0123456789abcdef")
                .replaceAll("runtime.cpu=.*", "runtime.cpu=Some Other CPU"));
        ImageStore.seal(meta.getParent(), ImageMetadata.read(meta.getParent())); // vouched for, as if made there
        Result here = run(launcher(store(), List.of(), cmd), dir, "here");
        assertTrue(here.err().contains("is for another machine: it was made on a CPU with other features (Some Other CPU"),
                here::toString);
        assertTrue(here.has("OUTCOME CHECKPOINTED"), "this machine gets its own image:\n" + here);
        assertEquals(2, images(store()).size(), "side by side");
        Result again = run(launcher(store(), List.of(), cmd), dir, "again");
        assertTrue(again.has("OUTCOME RESTORED"), "and restores from it:\n" + again);
    }

    @Test
    @DisplayName("a damaged image is never restored: the launcher says why and starts cold")
    void corruptImageStartsCold() throws Exception {
        Result cold = run(launcher(store(), List.of(), app()), dir, "cold");
        assertEquals(0, cold.exit(), cold::toString);
        Path image = images(store()).get(0);
        Path pages;
        try (Stream<Path> files = Files.list(image)) {
            pages = files.filter(p -> p.getFileName().toString().startsWith("pages-"))
                    .max((a, b) -> Long.compare(a.toFile().length(), b.toFile().length())).orElseThrow();
        }
        try (var ch = java.nio.channels.FileChannel.open(pages, java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() / 2);
        }
        Result next = run(launcher(store(), List.of(), app()), dir, "next");
        assertEquals(0, next.exit(), next::toString);
        assertTrue(next.err().contains("cannot be used: " + pages.getFileName()), next::toString);
        assertTrue(next.has("OUTCOME CHECKPOINTED"), "started cold and wrote a new image:\n" + next);
    }
}
