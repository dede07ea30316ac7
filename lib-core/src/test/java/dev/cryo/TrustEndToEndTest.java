package dev.cryo;

import static dev.cryo.ChildJvm.app;
import static dev.cryo.ChildJvm.images;
import static dev.cryo.ChildJvm.launcher;
import static dev.cryo.ChildJvm.run;
import static dev.cryo.ChildJvm.temporaries;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.cryo.ChildJvm.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile or careless input (docs/faults.md, "Ownership, stored files, scope, stdio and signals"):
 * each fault injected for real, against real CRIU and child JVMs; each is refused with its reason,
 * the app starts cold, nothing is overwritten, and no process or directory is left behind.
 */
@DisplayName("images Cryo does not trust are refused, and the app starts cold")
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class TrustEndToEndTest {
    @TempDir
    Path dir;

    private Path store() {
        return dir.resolve("store");
    }

    private static boolean root() {
        return "root".equals(System.getProperty("user.name"));
    }

    private Result start(String name) throws Exception {
        return run(launcher(store(), List.of(), app("--entries", "1000")), dir, name);
    }

    /** A cold start that writes one image; returns that image's directory. */
    private Path oneImage() throws Exception {
        Result cold = start("cold");
        assertTrue(cold.has("OUTCOME CHECKPOINTED"), cold::toString);
        List<Path> all = images(store());
        assertEquals(1, all.size(), cold::toString);
        return all.get(0);
    }

    private static void assertCold(Result r) {
        assertFalse(r.has("OUTCOME RESTORED"), "not restored:\n" + r);
        assertFalse(r.err().contains("cryo: restored image"), "not restored:\n" + r);
        assertTrue(r.has("STATE entries="), "started cold:\n" + r);
        assertTrue(r.has("DONE"), "the app ran to its end:\n" + r);
    }

    @Test
    @DisplayName("a store writable by others: refused with the reason, cold start, no image written there")
    void storeWritableByOthers() throws Exception {
        Files.createDirectories(store());
        Files.setPosixFilePermissions(store(), PosixFilePermissions.fromString("rwxrwxrwx"));
        Result r = start("cold");
        assertTrue(r.err().contains("cryo: refusing the image store " + store() + " is writable by others (rwxrwxrwx)"),
                r::toString);
        assertCold(r);
        assertTrue(r.has("CHECKPOINT-FAILED IMAGE_DIRECTORY"), "the app's checkpointNow() refuses it too:\n" + r);
        assertTrue(r.has("Refusing to write the snapshot: the image store"), r::toString);
        assertEquals(List.of(), images(store()));
        assertEquals(List.of(), temporaries(store()));
    }

    @Test
    @DisplayName("a store that is a symbolic link: refused, cold start, nothing written through the link")
    void storeIsSymlink() throws Exception {
        Path real = Files.createDirectories(dir.resolve("elsewhere"));
        Files.setPosixFilePermissions(real, PosixFilePermissions.fromString("rwx------"));
        Files.createSymbolicLink(store(), real);
        Result r = start("cold");
        assertTrue(r.err().contains("cryo: refusing the image store " + store() + " is a symbolic link (to " + real),
                r::toString);
        assertCold(r);
        assertTrue(r.has("CHECKPOINT-FAILED IMAGE_DIRECTORY"), r::toString);
        try (var s = Files.list(real)) {
            assertEquals(List.of(), s.toList(), "nothing written through the link");
        }
    }

    @Test
    @DisplayName("an image owned by another user, writable by group, or a symbolic link: refused, cold start, a new image")
    void untrustedImages() throws Exception {
        assumeTrue(root(), "giving an image to another user needs root (CI runs as root)");
        Path image = oneImage();
        String id = image.getFileName().toString().substring("img-".length());

        new ProcessBuilder("chown", "65534", image.toString()).inheritIO().start().waitFor();
        Result owned = start("owned");
        assertTrue(owned.err().contains("image " + id + " cannot be used: the image " + image
                + " is owned by uid 65534"), owned::toString);
        assertCold(owned);
        assertTrue(owned.has("OUTCOME CHECKPOINTED"), "the refused image is replaced:\n" + owned);
        for (Path other : images(store())) {
            if (!other.equals(image)) {
                dev.cryo.internal.ImageStore.deleteTree(other);
            }
        }

        new ProcessBuilder("chown", "0", image.toString()).inheritIO().start().waitFor();
        Files.setPosixFilePermissions(image, PosixFilePermissions.fromString("rwxrwx---"));
        Result group = start("group");
        assertTrue(group.err().contains("the image " + image + " is writable by its group (rwxrwx---)"), group::toString);
        assertCold(group);
        for (Path other : images(store())) {
            if (!other.equals(image)) {
                dev.cryo.internal.ImageStore.deleteTree(other);
            }
        }

        Files.setPosixFilePermissions(image, PosixFilePermissions.fromString("rwx------"));
        Path moved = Files.move(image, dir.resolve("moved-image"));
        Files.createSymbolicLink(image, moved);
        Result link = start("link");
        assertTrue(link.err().contains("the image " + image + " is a symbolic link"), link::toString);
        assertCold(link);
    }

    @Test
    @DisplayName("directories are created 0700 and the image's files 0600")
    void ownerOnly() throws Exception {
        Path image = oneImage();
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(store())));
        try (var s = Files.walk(image)) {
            for (Path p : s.toList()) {
                String want = Files.isDirectory(p) ? "rwx------" : "rw-------";
                assertEquals(want, PosixFilePermissions.toString(Files.getPosixFilePermissions(p)), p.toString());
            }
        }
    }

    @Test
    @DisplayName("an unreadable store: a warning and a cold start, not a crash")
    void unreadableStore() throws Exception {
        assumeTrue(root(), "the test drops root's right to read any directory (setpriv)");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "needs setpriv (util-linux)");
        Files.createDirectories(store());
        Files.setPosixFilePermissions(store(), PosixFilePermissions.fromString("-wx------"));
        List<String> cmd = new ArrayList<>(List.of("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"));
        cmd.addAll(launcher(store(), List.of(), app("--entries", "1000")));
        Result r = run(cmd, dir, "unreadable");
        assertTrue(r.err().contains("cryo: warning: cannot list image store " + store()), r::toString);
        assertCold(r);
        assertTrue(r.has("CHECKPOINT-FAILED IMAGE_DIRECTORY"), r::toString);
    }

    private Result files(String name, java.util.Map<String, String> env) throws Exception {
        return run(launcher(store(), List.of(), ChildJvm.java("dev.cryo.testapp.FilesApp", dir.toString(), "--store")),
                dir, name, env);
    }

    /** An image that keeps dir/data.bin (8192 bytes of 1s); returns its directory. */
    private Path imageWithStoredFile() throws Exception {
        Files.write(dir.resolve("data.bin"), filled(8192, 1));
        Result first = files("first", java.util.Map.of());
        assertEquals(1, images(store()).size(), first::toString);
        return images(store()).get(0);
    }

    private static byte[] filled(int n, int value) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, (byte) value);
        return b;
    }

    private static void editMetadata(Path image, String key, String value) throws Exception {
        Path meta = image.resolve("cryo-image.properties");
        List<String> lines = new ArrayList<>(Files.readAllLines(meta));
        lines.replaceAll(l -> l.startsWith(key + "=") ? key + "=" + value : l);
        Files.write(meta, lines);
        assertTrue(Files.readString(meta).contains(key + "=" + value), () -> "edited: " + lines);
        // Sealed again, as someone who can write the store would: the manifest alone (without
        // CRYO_IMAGE_KEY) cannot tell, so what is checked here is the rule behind it.
        dev.cryo.internal.ImageStore.seal(image, dev.cryo.internal.ImageMetadata.read(image));
    }

    @Test
    @DisplayName("a stored file's path edited to another absolute path, or with ../: image refused, cold start, nothing overwritten")
    void editedStoredPath() throws Exception {
        Path image = imageWithStoredFile();
        String id = image.getFileName().toString().substring("img-".length());
        Path victim = Files.writeString(dir.resolve("victim.txt"), "precious");
        Files.createDirectories(dir.resolve("sub"));

        editMetadata(image, "stored.0.path", victim.toString());
        Result other = files("other", java.util.Map.of());
        assertTrue(other.err().contains("image " + id + " cannot be used: its stored file 0 (" + victim
                + ") has no copy"), other::toString);
        assertFalse(other.err().contains("CRYO RESTORED"), other::toString);
        assertEquals("precious", Files.readString(victim), "nothing overwritten");
        assertEquals(2, images(store()).size(), "the cold start replaced the refused image:\n" + other);
        dev.cryo.internal.ImageStore.deleteTree(images(store()).get(1));

        String climbing = dir.resolve("sub").toString() + "/../victim.txt";
        editMetadata(image, "stored.0.path", climbing);
        Result up = files("up", java.util.Map.of());
        assertTrue(up.err().contains("image " + id + " cannot be used: its stored file 0 (" + climbing
                + ") is not an absolute canonical path"), up::toString);
        assertFalse(up.err().contains("CRYO RESTORED"), up::toString);
        assertEquals("precious", Files.readString(victim), "nothing overwritten");
    }

    @Test
    @DisplayName("a restore that fails leaves the stored files as they were before it")
    void failedRestoreRevertsStoredFiles() throws Exception {
        imageWithStoredFile();
        byte[] changed = filled(5000, 2);
        Files.write(dir.resolve("data.bin"), changed);
        // A criu that fails every request: the restore fails after the files were put back.
        Path real = dev.cryo.internal.criu.CriuLocation.resolve(null, null).binary();
        Path failing = dir.resolve("failing-criu");
        Files.writeString(failing, "#!/bin/sh\nif [ \"$1\" = swrk ]; then exit 1; fi\nexec " + real + " \"$@\"\n");
        Files.setPosixFilePermissions(failing, PosixFilePermissions.fromString("rwx------"));
        Result r = files("failing", java.util.Map.of("CRYO_CRIU", failing.toString()));
        assertTrue(r.err().contains("put back " + dir.resolve("data.bin") + " as it was at checkpoint"), r::toString);
        assertTrue(r.err().contains("restore of image"), r::toString);
        assertTrue(r.err().contains("have their contents from before it again"), r::toString);
        assertFalse(r.err().contains("CRYO RESTORED"), r::toString);
        assertTrue(java.util.Arrays.equals(changed, Files.readAllBytes(dir.resolve("data.bin"))), "reverted");
        try (var s = Files.list(dir)) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().contains(".cryo-")).toList(),
                    "no copy or old content left beside the file");
        }
    }

    /** The launcher's command with its temporary files in {@code tmp}, to see what it leaves there. */
    private List<String> launcherIn(Path tmp, List<String> app) throws Exception {
        Files.createDirectories(tmp);
        List<String> cmd = new ArrayList<>(launcher(store(), List.of(), app));
        cmd.add(1, "-Djava.io.tmpdir=" + tmp);
        return cmd;
    }

    private static Process startRaw(List<String> cmd, ProcessBuilder.Redirect in, ProcessBuilder.Redirect out,
            ProcessBuilder.Redirect err, java.util.Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(in).redirectOutput(out).redirectError(err);
        pb.environment().keySet().removeIf(k -> k.startsWith("CRYO_") && !k.startsWith("CRYO_CRIU") && !k.equals("CRYO_HOME"));
        pb.environment().putAll(env);
        return pb.start();
    }

    private static int finish(Process p) throws Exception {
        if (!p.waitFor(ChildJvm.TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new AssertionError("did not finish in " + ChildJvm.TIMEOUT_SECONDS + " s");
        }
        return p.exitValue();
    }

    private static void assertGone(long pid) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            assertTrue(System.nanoTime() < deadline, "process " + pid + " is left running");
            Thread.sleep(50);
        }
    }

    @Test
    @DisplayName("stdio by descriptor: an app checkpointed with 2>&1 gets stdout and stderr back apart")
    void stdoutAndStderrApart() throws Exception {
        Path both = dir.resolve("both.txt");
        ProcessBuilder.Redirect nul = ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile());
        Process cold = startRaw(launcher(store(), List.of(), app("--entries", "1000")), nul,
                ProcessBuilder.Redirect.to(both.toFile()), ProcessBuilder.Redirect.to(both.toFile()), java.util.Map.of());
        assertEquals(0, finish(cold), Files.readString(both));
        assertEquals(1, images(store()).size(), Files.readString(both));

        Result restored = start("restored");
        assertTrue(restored.out().contains("OUTCOME RESTORED"), restored::toString);
        assertTrue(restored.err().contains("Restore steps (ms)"), "the app's log reaches the launcher's stderr:\n"
                + restored);
        assertFalse(restored.out().contains("Restore steps (ms)"), "and not its stdout:\n" + restored);
        assertFalse(restored.err().contains("OUTCOME RESTORED"), restored::toString);
    }

    @Test
    @DisplayName("stdio by descriptor: an app checkpointed with stdin and stdout on /dev/null prints again when restored")
    void devNullStdout() throws Exception {
        ProcessBuilder.Redirect nul = ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile());
        Process cold = startRaw(launcher(store(), List.of(), app("--entries", "1000")), nul,
                ProcessBuilder.Redirect.to(Path.of("/dev/null").toFile()),
                ProcessBuilder.Redirect.to(dir.resolve("cold.err").toFile()), java.util.Map.of());
        assertEquals(0, finish(cold), Files.readString(dir.resolve("cold.err")));
        assertEquals(1, images(store()).size());

        Result restored = start("restored");
        assertTrue(restored.out().contains("OUTCOME RESTORED"), "the output reaches the launcher's stdout:\n" + restored);
        assertTrue(restored.out().contains("DONE"), restored::toString);
    }

    @Test
    @DisplayName("SIGUSR1 to the launcher reaches the app; the launcher does not die and leave the app orphaned")
    void usr1IsForwarded() throws Exception {
        Process p = ChildJvm.start(launcher(store(), List.of(), app("--entries", "1000", "--linger-ms", "60000")),
                dir, "usr1", java.util.Map.of());
        long appPid = awaitAppPid(dir.resolve("usr1.out"));
        new ProcessBuilder("kill", "-USR1", Long.toString(p.pid())).inheritIO().start().waitFor();
        int exit = finish(p);
        Result r = ChildJvm.read(dir, "usr1", exit);
        assertEquals(128 + 10, exit, "the app ended by SIGUSR1, the launcher reports it:\n" + r);
        assertFalse(r.has("DONE"), r::toString);
        assertGone(appPid);
    }

    /** Waits until the app has printed its pid and its checkpoint's outcome; returns the pid. */
    private static long awaitAppPid(Path out) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            String text = Files.exists(out) ? Files.readString(out) : "";
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("OUTCOME \\S+ \\S+ pid=(\\d+)").matcher(text);
            if (m.find()) {
                return Long.parseLong(m.group(1));
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the app did not reach its checkpoint: " + Files.readString(out));
    }

    @Test
    @DisplayName("SIGTERM to the launcher during a restore ends the restored app and the launcher; no directory left")
    void termDuringRestore() throws Exception {
        List<String> app = app("--entries", "1000", "--linger-ms", "60000");
        Process original = ChildJvm.start(launcher(store(), List.of(), app), dir, "cold", java.util.Map.of());
        long appPid = awaitAppPid(dir.resolve("cold.out"));
        assertTrue(Files.readString(dir.resolve("cold.out")).contains("OUTCOME CHECKPOINTED"));
        new ProcessBuilder("kill", "-TERM", Long.toString(original.pid())).inheritIO().start().waitFor();
        assertEquals(128 + 15, finish(original), "TERM reaches the original through its launcher");
        assertGone(appPid);
        // A criu that waits 2 s before it restores: the signal comes while the launcher is in the restore.
        Path real = dev.cryo.internal.criu.CriuLocation.resolve(null, null).binary();
        Path started = dir.resolve("criu-started");
        Path slow = dir.resolve("slow-criu");
        Files.writeString(slow, "#!/bin/sh\nif [ \"$1\" = swrk ]; then touch " + started + "; sleep 2; fi\nexec " + real
                + " \"$@\"\n");
        Files.setPosixFilePermissions(slow, PosixFilePermissions.fromString("rwx------"));
        Path tmp = dir.resolve("tmp");
        Process p = ChildJvm.start(launcherIn(tmp, app), dir, "term", java.util.Map.of("CRYO_CRIU", slow.toString()));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(started)) {
            assertTrue(System.nanoTime() < deadline && p.isAlive(), "the launcher never started criu");
            Thread.sleep(20);
        }
        new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).inheritIO().start().waitFor();
        int exit = finish(p);
        Result r = ChildJvm.read(dir, "term", exit);
        assertTrue(r.err().contains("cryo: restored image"), "the restore went through:\n" + r);
        assertEquals(128 + 15, exit, "the restored app got the TERM at once:\n" + r);
        assertFalse(r.has("DONE"), r::toString);
        assertGone(appPid);
        try (var s = Files.list(tmp)) {
            assertEquals(List.of(), s.toList(), "no temporary directory left");
        }
    }

    /** {@code command} run by {@code script}, on a terminal of its own (a pty), its output in {@code name}.out. */
    private Result onTerminal(List<String> command, String name) throws Exception {
        String line = command.stream().map(a -> "'" + a.replace("'", "'\\''") + "'").collect(
                java.util.stream.Collectors.joining(" "));
        return run(List.of("script", "-qec", line, "/dev/null"), dir, name);
    }

    @Test
    @DisplayName("an app started from a terminal: its image restores on another terminal")
    void fromTerminal() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/script")), "needs script (util-linux) for a pty");
        Result cold = onTerminal(launcher(store(), List.of(), app("--entries", "1000")), "cold");
        assertTrue(cold.has("OUTCOME CHECKPOINTED"), cold::toString);
        assertTrue(cold.has("DONE"), "the original has its terminal back after the dump:\n" + cold);
        Result restored = onTerminal(launcher(store(), List.of(), app("--entries", "1000")), "restored");
        assertTrue(restored.has("OUTCOME RESTORED"), restored::toString);
        assertTrue(restored.has("DONE"), "the restored app writes to the new terminal:\n" + restored);
    }

    @Test
    @DisplayName("the launcher's variables do not reach the children the app starts")
    void handoffStaysWithTheApp() throws Exception {
        Result r = run(launcher(store(), List.of(), ChildJvm.java("dev.cryo.testapp.EnvApp")), dir, "env");
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.has("OWN CRYO_BUILD_KEY=true"), "the app itself still reads its handoff:\n" + r);
        assertTrue(r.has("DONE"), r::toString);
        java.util.function.Predicate<String> handoff = l -> l.matches("\\S+ CRYO_(LAUNCHER|IMAGE_DIR|BUILD_KEY|GPU_MAP"
                + "|CRIU_CHECKED_VERSION|CRIU_CHECKED_BINARY|DUMP_TIMEOUT)=.*");
        assertTrue(r.lines("INHERITED CRYO_").size() > 0, "the user's own CRYO_ variables stay (CRYO_HOME...):\n" + r);
        assertEquals(List.of(), r.lines("INHERITED ").stream().filter(handoff).toList(), "inherited environment:\n" + r);
        assertEquals(List.of(), r.lines("OWN-ENV ").stream().filter(handoff).toList(), "an environment of its own:\n" + r);
    }

    @Test
    @DisplayName("an image of another program under the same build key (a handed-down key) is refused with the reason")
    void otherProgramSameKey() throws Exception {
        Path image = oneImage();
        String id = image.getFileName().toString().substring("img-".length());
        List<String> other = ChildJvm.java("dev.cryo.testapp.EnvApp");
        editMetadata(image, "command", String.join("\\u0000", other));
        editMetadata(image, "main", "dev.cryo.testapp.EnvApp");
        Result r = start("other");
        assertTrue(r.err().contains("image " + id + " was made from another program: its"
                + " process ran dev.cryo.testapp.EnvApp, this start runs dev.cryo.testapp.StatefulApp"), r::toString);
        assertCold(r);
    }
}
