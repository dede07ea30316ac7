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
import dev.cryo.internal.ImageStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a user meets when something is wrong: each failure is a clear message, the app goes on
 * with its state intact, and nothing half-written is ever restored. Real CRIU, real processes.
 */
@DisplayName("failures are clear and lose nothing")
class FailureModesEndToEndTest {
    private static final String RUN_MARKER = "CRYO_TEST_RUN";
    @TempDir
    Path dir;

    private final List<Path> mounts = new ArrayList<>();

    @AfterEach
    void unmount() throws Exception {
        for (Path m : mounts) {
            new ProcessBuilder("umount", "-l", m.toString()).inheritIO().start().waitFor();
        }
    }

    private Path store() {
        return dir.resolve("store");
    }

    private static boolean root() {
        return "root".equals(System.getProperty("user.name"));
    }

    private Path mountTmpfs(String name, String options) throws Exception {
        assumeTrue(root(), "mounting a small file system needs root (CI runs as root)");
        Path m = Files.createDirectories(dir.resolve(name));
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", options, "tmpfs", m.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), "mount failed: " + out);
        mounts.add(m);
        return m;
    }

    /** The app's state survived a failed checkpoint: same hash before and after. */
    private static void assertStateKept(Result r) {
        String before = r.line("STATE entries=").replaceAll(".* hash=(\\S+).*", "$1");
        String after = r.line("STATE-AFTER").replaceAll(".*hash=(\\S+).*", "$1");
        assertEquals(before, after, "state after a failed checkpoint");
        assertTrue(r.has("DONE"), "the app went on:\n" + r);
    }

    @Test
    @DisplayName("libcriu not found: CRIU_UNAVAILABLE naming the path and the fix")
    void libCriuMissing() throws Exception {
        Result r = run(app("--image", store().toString()), dir, "app",
                Map.of("CRYO_CRIU_LIB", "/nonexistent/libcriu.so.2"));
        assertEquals(3, r.exit(), r::toString);
        assertTrue(r.has("CHECKPOINT-FAILED CRIU_UNAVAILABLE"), r::toString);
        assertTrue(r.has("/nonexistent/libcriu.so.2") && r.has("bin/bootstrap"), r::toString);
        assertTrue(r.lines("BEFORE").isEmpty(), "nothing is disturbed when CRIU is missing");
        assertStateKept(r);
    }

    @Test
    @DisplayName("criu binary not found: CRIU_UNAVAILABLE naming the path and the fix")
    void criuBinaryMissing() throws Exception {
        Result r = run(app("--image", store().toString()), dir, "app", Map.of("CRYO_CRIU", "/nonexistent/criu"));
        assertTrue(r.has("CHECKPOINT-FAILED CRIU_UNAVAILABLE"), r::toString);
        assertTrue(r.has("/nonexistent/criu"), r::toString);
        assertStateKept(r);
    }

    @Test
    @DisplayName("CRIU older than 4.0 (a real 3.17): CRIU_UNAVAILABLE with the version and the fix")
    void criuTooOld() throws Exception {
        Path old = Path.of(System.getenv().getOrDefault("CRYO_HOME", System.getProperty("user.home") + "/.cryo"),
                "criu-3.17", "criu");
        assumeTrue(Files.isExecutable(old), "bin/test installs bookworm's CRIU 3.17 at " + old);
        Result r = run(app("--image", store().toString()), dir, "app", Map.of("CRYO_CRIU", old.toString()));
        assertTrue(r.has("CHECKPOINT-FAILED CRIU_UNAVAILABLE"), r::toString);
        assertTrue(r.has("CRIU 3.17.1") && r.has("too old") && r.has("bin/bootstrap"), r::toString);
        assertStateKept(r);
    }

    @Test
    @DisplayName("image directory that cannot be a directory: IMAGE_DIRECTORY with the fix")
    void imageDirectoryNotADirectory() throws Exception {
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        Result r = run(app("--image", file.resolve("images").toString()), dir, "app");
        assertTrue(r.has("CHECKPOINT-FAILED IMAGE_DIRECTORY"), r::toString);
        assertTrue(r.has("Choose a writable directory"), r::toString);
        assertStateKept(r);
    }

    @Test
    @DisplayName("read-only image directory: IMAGE_DIRECTORY, nothing written")
    void imageDirectoryReadOnly() throws Exception {
        Path ro = mountTmpfs("ro", "ro,size=1m");
        Result r = run(app("--image", ro.resolve("images").toString()), dir, "app");
        assertTrue(r.has("CHECKPOINT-FAILED IMAGE_DIRECTORY"), r::toString);
        assertTrue(r.has("not writable"), r::toString);
        assertStateKept(r);
    }

    @Test
    @DisplayName("disk too small: NO_SPACE with sizes, before anything is written")
    void noSpace() throws Exception {
        Path small = mountTmpfs("small", "size=8m");
        Result r = run(app("--image", small.resolve("images").toString()), dir, "app");
        assertTrue(r.has("CHECKPOINT-FAILED NO_SPACE"), r::toString);
        assertTrue(r.has("Not enough free space") && r.has("MB needed"), r::toString);
        assertTrue(images(small.resolve("images")).isEmpty());
        assertStateKept(r);
    }

    @Test
    @DisplayName("not root and no capabilities: NOT_PERMITTED naming the capabilities")
    void notPermitted() throws Exception {
        assumeTrue(root(), "needs root to start a child as another user");
        // A copy of the class path that user 'nobody' can read.
        Path shared = Files.createTempDirectory(Path.of("/tmp"), "cryo-nobody-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        try {
            List<String> entries = new ArrayList<>();
            int i = 0;
            for (String entry : ChildJvm.CLASS_PATH.split(":")) {
                Path src = Path.of(entry);
                if (!Files.exists(src)) {
                    continue;
                }
                Path dst = shared.resolve("cp" + i++ + (Files.isDirectory(src) ? "" : ".jar"));
                copyReadable(src, dst);
                entries.add(dst.toString());
            }
            // The user's own store (one writable by others, or another user's, is refused first).
            Path images = Files.createDirectory(shared.resolve("images"),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Files.setAttribute(images, "unix:uid", 65534);
            Files.setAttribute(images, "unix:gid", 65534);
            List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    "--inh-caps=-all", "--bounding-set=-all", "--",
                    ChildJvm.JAVA.toString(), "--enable-native-access=ALL-UNNAMED", "-XX:-UsePerfData",
                    "-cp", String.join(":", entries), "dev.cryo.testapp.StatefulApp", "--image", images.toString()));
            Result r = run(cmd, dir, "app", Map.of("HOME", shared.toString()));
            assertTrue(r.has("CHECKPOINT-FAILED NOT_PERMITTED"), r::toString);
            assertTrue(r.has("CAP_CHECKPOINT_RESTORE") && r.has("uid 65534"), r::toString);
            assertStateKept(r);
        } finally {
            dev.cryo.internal.ImageStore.deleteTree(shared);
        }
    }

    private static void copyReadable(Path src, Path dst) throws IOException {
        if (Files.isDirectory(src)) {
            try (Stream<Path> walk = Files.walk(src)) {
                for (Path p : walk.toList()) {
                    Path t = dst.resolve(src.relativize(p).toString());
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(t);
                        Files.setPosixFilePermissions(t, PosixFilePermissions.fromString("rwxr-xr-x"));
                    } else {
                        Files.copy(p, t);
                        Files.setPosixFilePermissions(t, PosixFilePermissions.fromString("rw-r--r--"));
                    }
                }
            }
        } else {
            Files.copy(src, dst);
            Files.setPosixFilePermissions(dst, PosixFilePermissions.fromString("rw-r--r--"));
        }
    }

    @Test
    @DisplayName("a bad launcher flag: one line on stderr, status 2, and the app never starts")
    void badLauncherFlag() throws Exception {
        Result r = run(launcher(store(), List.of("--pid-wait", "abc"), app("--entries", "1000")), dir, "launcher");
        assertEquals(2, r.exit(), r::toString);
        assertEquals("cryo: --pid-wait needs seconds (a number from 0 to 86400, such as 5 or 0.5), not 'abc'"
                + " (see cryo --help)\n", r.err(), r::toString);
        assertEquals("", r.out(), "the app did not start");
        assertFalse(Files.exists(store()), "nothing was written");

        Path file = Files.writeString(dir.resolve("a-file"), "x");
        Result image = run(launcher(file, List.of(), app("--entries", "1000")), dir, "file-image");
        assertEquals(2, image.exit(), image::toString);
        assertEquals(1, image.err().lines().count(), image::toString);
        assertTrue(image.err().contains("is a file, not a directory"), image::toString);
    }

    @Test
    @DisplayName("JDK older than 22: the launcher refuses with the version found and the fix")
    void oldJdk() throws Exception {
        Optional<Path> old = olderJava();
        assumeTrue(old.isPresent(), "no JDK older than 22 on this machine");
        Result r = run(launcher(store(), List.of(), List.of(old.get().toString(), "-version")), dir, "launcher");
        assertEquals(2, r.exit(), r::toString);
        assertTrue(r.err().contains("Cryo needs Java 22 or newer"), r::toString);
        assertTrue(r.err().matches("(?s).*is Java (8|1[0-9]|2[01]) .*"), r::toString);
    }

    private static Optional<Path> olderJava() throws IOException {
        Path jvms = Path.of("/usr/lib/jvm");
        if (!Files.isDirectory(jvms)) {
            return Optional.empty();
        }
        try (Stream<Path> s = Files.list(jvms)) {
            return s.map(d -> d.resolve("bin/java")).filter(Files::isExecutable).filter(j -> {
                try {
                    String release = Files.readString(j.getParent().getParent().resolve("release"));
                    var m = java.util.regex.Pattern.compile("JAVA_VERSION=\"(\\d+)").matcher(release);
                    return m.find() && Integer.parseInt(m.group(1)) < 22;
                } catch (IOException e) {
                    return false;
                }
            }).findFirst();
        }
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    @DisplayName("the PID is held at restore: the launcher says by whom, marks the image bad and starts cold; the cold app"
            + " writes a new image")
    void pidTaken() throws Exception {
        // The original stays alive well past its checkpoint, holding the PID its image needs.
        Path release = dir.resolve("release");
        List<String> cmd = app("--linger-ms", "60000", "--linger-until", release.toString());
        Process original = ChildJvm.start(launcher(store(), List.of(), cmd), dir, "original", Map.of());
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (images(store()).isEmpty()) {
                assertTrue(System.nanoTime() < deadline && original.isAlive(), "no image appeared");
                Thread.sleep(50);
            }
            Process secondLauncher = ChildJvm.start(launcher(store(), List.of("--pid-wait", "0.3"), cmd), dir, "second",
                    Map.of());
            Path secondOut = dir.resolve("second.out");
            while (!(Files.exists(secondOut) && Files.readString(secondOut).contains("OUTCOME")) && secondLauncher.isAlive()) {
                Thread.sleep(50);
            }
            Files.writeString(release, "go");
            Result second = ChildJvm.finish(secondLauncher, dir, "second");
            assertTrue(second.err().contains("the image needs PID"), second::toString);
            assertTrue(second.err().contains("StatefulApp"), "names the process holding it:\n" + second);
            assertTrue(second.err().matches("(?s).*StatefulApp[^\n]*; state [SR] \\((sleeping|running)\\).*"),
                    "says its state:\n" + second);
            assertTrue(second.err().contains("parent " + original.pid()), "names its parent, the launcher:\n" + second);
            assertTrue(second.err().contains("Starting cold instead"), second::toString);
            assertTrue(second.has("OUTCOME CHECKPOINTED"), "started cold and replaced the bad image, not SKIPPED\n" + second);
            assertTrue(second.err().contains("cannot be used: it was marked bad: its restore failed: the image needs PID"),
                    second::toString);
            assertEquals(2, images(store()).size());
            assertTrue(Files.readString(images(store()).get(0).resolve(ImageStore.BAD_MARK)).contains("still holds it"),
                    "the first image says why it is bad");
            assertEquals(0, ChildJvm.finish(original, dir, "original").exit());
        } finally {
            Files.writeString(release, "go");
            original.descendants().forEach(ProcessHandle::destroyForcibly);
            original.destroyForcibly();
        }
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    @DisplayName("a ghost file that a killed restore of another image with the same PID left behind does not fail the"
            + " restore (CRIU: 'Can't create ghost regfile: File exists')")
    void leftoverGhostFile() throws Exception {
        List<String> cmd = app("--entries", "1000", "--exit-after");
        Result first = run(launcher(store(), List.of(), cmd), dir, "first");
        assertEquals(1, images(store()).size(), first::toString);
        long pid = Long.parseLong(first.line("STATE entries=").replaceAll(".*pid=(\\d+).*", "$1"));
        ChildJvm.awaitGone(pid);
        Path ghost = dev.cryo.internal.PerfDataGhost.directory().resolve(".cryo-hsperfdata-" + pid + ".cr.1.ghost");
        Files.write(ghost, new byte[32768]);
        try {
            Result second = run(launcher(store(), List.of(), cmd), dir, "second");
            assertTrue(second.err().contains("removed " + ghost + ", left by a restore that was killed"), second::toString);
            assertTrue(second.has("AFTER R1 RESTORED"), "restored, not cold:\n" + second);
            assertFalse(Files.exists(ghost), "CRIU removed its own ghost after the restore");
        } finally {
            Files.deleteIfExists(ghost);
        }
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    @DisplayName("a restored app that dies of a crash signal: its image is marked bad with the signal, the next start is"
            + " cold and writes a new image")
    void crashAfterRestore() throws Exception {
        List<String> cmd = app("--entries", "1000", "--exit-after", "--crash-when-restored");
        Result first = run(launcher(store(), List.of(), cmd), dir, "first");
        assertEquals(0, first.exit(), first::toString);
        assertEquals(1, images(store()).size(), first::toString);
        ChildJvm.awaitGone(Long.parseLong(first.line("STATE entries=").replaceAll(".*pid=(\\d+).*", "$1")));

        Result second = run(launcher(store(), List.of(), cmd), dir, "second");
        assertTrue(second.has("OUTCOME RESTORED"), second::toString);
        assertEquals(128 + 6, second.exit(), "the launcher exits as its app did (SIGABRT)\n" + second);
        assertTrue(second.err().contains("crashed (signal 6)"), second::toString);
        Path image = images(store()).get(0);
        assertTrue(Files.readString(image.resolve(ImageStore.BAD_MARK)).contains("died of signal 6"),
                "the image says why it is bad");

        Result third = run(launcher(store(), List.of(), cmd), dir, "third");
        assertEquals(0, third.exit(), third::toString);
        assertTrue(third.err().contains("it was marked bad: the app restored from it died of signal 6"), third::toString);
        assertTrue(third.err().contains("starting cold") && third.err().contains("Checkpoint image "),
                "started cold and replaced the bad image\n" + third);
        assertEquals(2, images(store()).size(), third::toString);
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    @DisplayName("JVMs starting during a restore (they delete what they do not know in hsperfdata_USER) do not fail it")
    void jvmsStartingDuringRestore() throws Exception {
        List<String> cmd = app("--entries", "1000", "--exit-after");
        Result first = run(launcher(store(), List.of(), cmd), dir, "first");
        assertEquals(0, first.exit(), first::toString);
        assertEquals(1, images(store()).size(), first::toString);
        String pid = first.line("STATE entries=").replaceAll(".*pid=(\\d+).*", "$1");
        Path perfDir = Path.of("/tmp", "hsperfdata_" + System.getProperty("user.name"));
        ChildJvm.awaitGone(Long.parseLong(pid));
        // What every JVM of this user does at its start (to files it does not know), here all the
        // time, to whatever CRIU makes there for this image's PID: until this fix, its ghost file.
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicInteger deleted = new java.util.concurrent.atomic.AtomicInteger();
        Thread deleter = new Thread(() -> {
            while (!stop.get()) {
                try (Stream<Path> files = Files.list(perfDir)) {
                    for (Path f : files.filter(f -> f.getFileName().toString().startsWith(pid + ".")).toList()) {
                        if (Files.deleteIfExists(f)) {
                            deleted.incrementAndGet();
                        }
                    }
                } catch (IOException e) {
                    // listed while changing: again
                }
            }
        });
        deleter.start();
        try {
            Result second = run(launcher(store(), List.of(), cmd), dir, "second");
            assertEquals(0, second.exit(), second::toString);
            assertTrue(second.err().contains("CRYO RESTORED"), second::toString);
            assertEquals(0, deleted.get(), "nothing of the restore's was in hsperfdata_USER");
        } finally {
            stop.set(true);
            deleter.join();
        }
    }

    @Test
    @DisplayName("CRIU killed during the dump, before it enters the process: the app goes on, no image, no leftovers")
    void criuKilledMidDump() throws Exception {
        Process p = ChildJvm.start(launcher(store(), List.of(), app("--ballast-mb", "3000")), dir, "app", runMarker());
        long criu = awaitCriuStarted(p);
        new ProcessBuilder("kill", "-9", Long.toString(criu)).start().waitFor();
        Result r = ChildJvm.finish(p, dir, "app");
        assertEquals(3, r.exit(), r::toString);
        assertTrue(r.has("CHECKPOINT-FAILED DUMP_FAILED"), r::toString);
        assertTrue(r.has("criu_local_dump"), "names the failed call:\n" + r);
        assertTrue(r.has("ballast=true"), r::toString);
        assertStateKept(r);
        assertEquals(List.of("AFTER R1 SKIPPED", "AFTER R2 SKIPPED", "AFTER R3 SKIPPED"), r.lines("AFTER"));
        assertTrue(images(store()).isEmpty(), "no image");
        assertTrue(temporaries(store()).isEmpty(), "no half-written image");
    }

    @Test
    @DisplayName("the app dies in the middle of its dump: the next start removes the leftovers and starts cold")
    void appKilledMidDump() throws Exception {
        List<String> cmd = app("--ballast-mb", "3000");
        Process p = ChildJvm.start(launcher(store(), List.of(), cmd), dir, "first", runMarker());
        awaitDumpInProgress(p);
        p.descendants().filter(h -> h.info().command().orElse("").endsWith("java"))
                .forEach(ProcessHandle::destroyForcibly);
        p.waitFor(60, TimeUnit.SECONDS);
        assertTrue(images(store()).isEmpty(), "no image from a dump that did not finish");
        Thread.sleep(200);
        Result next = run(launcher(store(), List.of(), app("--entries", "1000")), dir, "next");
        assertEquals(0, next.exit(), next::toString);
        assertTrue(next.err().contains("removed 1 unfinished image"), next::toString);
        assertTrue(next.has("OUTCOME CHECKPOINTED"), next::toString);
        assertTrue(temporaries(store()).isEmpty(), "leftovers removed");
    }

    /** Waits until CRIU is writing pages for the app under {@code launcher}; returns CRIU's pid. */
    private long awaitDumpInProgress(Process launcher) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        long criu = -1;
        while (System.nanoTime() < deadline) {
            assertTrue(launcher.isAlive(), "the app ended before its dump was caught");
            if (criu < 0) {
                criu = criuPid(launcher);
            }
            if (criu > 0 && pagesBeingWritten()) {
                return criu;
            }
            Thread.sleep(1);
        }
        throw new AssertionError("no dump in progress was seen");
    }

    /** Waits until libcriu has started CRIU for the app under {@code launcher}; returns CRIU's pid. */
    private long awaitCriuStarted(Process launcher) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (System.nanoTime() < deadline) {
            if (!launcher.isAlive()) {
                throw new AssertionError("the app ended before its dump was caught:\n" + ChildJvm.read(dir, "app", -1));
            }
            long criu = criuPid(launcher);
            if (criu > 0 && !temporaries(store()).isEmpty()) {
                return criu;
            }
            Thread.sleep(1);
        }
        throw new AssertionError("CRIU was not seen starting");
    }

    private boolean pagesBeingWritten() throws IOException {
        for (Path tmp : temporaries(store())) {
            try (Stream<Path> files = Files.list(tmp)) {
                if (files.anyMatch(f -> f.getFileName().toString().startsWith("pages-") && f.toFile().length() > (8 << 20))) {
                    return true;
                }
            } catch (IOException e) {
                // The directory went away: the dump finished or failed meanwhile.
            }
        }
        return false;
    }

    /**
     * The pid of a running CRIU that dumps this test's app (under {@code launcher}), or -1: a "criu
     * swrk" (libcriu's CRIU service, just started) whose environment holds this test's marker, or a
     * CRIU whose title names the app ("criu: dump --rpc -t PID"). Other test runs on the same
     * machine dump their own apps meanwhile.
     */
    private long criuPid(Process launcher) throws IOException {
        String marker = RUN_MARKER + "=" + dir;
        List<String> titles = launcher.descendants().map(h -> "criu: dump --rpc -t " + h.pid() + " ").toList();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(d -> d.getFileName().toString().chars().allMatch(Character::isDigit)).toList()) {
                try {
                    String cmdline = new String(Files.readAllBytes(p.resolve("cmdline"))).replace('\0', ' ');
                    if (cmdline.contains("criu swrk")
                            && List.of(new String(Files.readAllBytes(p.resolve("environ"))).split("\0")).contains(marker)
                            || titles.stream().anyMatch(cmdline::contains)) {
                        return Long.parseLong(p.getFileName().toString());
                    }
                } catch (IOException e) {
                    // Gone meanwhile.
                }
            }
        }
        return -1;
    }

    /** In the environment of this test's apps, and so of the CRIU they start: tells them from other test runs'. */
    private Map<String, String> runMarker() {
        return Map.of(RUN_MARKER, dir.toString());
    }
}
