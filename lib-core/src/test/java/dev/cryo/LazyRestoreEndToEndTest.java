package dev.cryo;

import static dev.cryo.CheckpointRestoreEndToEndTest.afterHash;
import static dev.cryo.CheckpointRestoreEndToEndTest.stateHash;
import static dev.cryo.ChildJvm.app;
import static dev.cryo.ChildJvm.launcher;
import static dev.cryo.ChildJvm.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.ChildJvm.Result;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Lazy restore for real: the launcher restores a child JVM with CRIU's lazy pages, the restored app
 * proves its state is whole, and the lazy-pages daemon is never left behind.
 */
@DisplayName("lazy restore of a real JVM")
class LazyRestoreEndToEndTest {
    private static final String BALLAST_MB = "96";

    @TempDir
    Path dir;

    private Path store() {
        return dir.resolve("store");
    }

    /** The launcher's command with {@code jvmOption} given to the launcher's own JVM. */
    private static List<String> withLauncherOption(List<String> launcherCommand, String jvmOption) {
        List<String> cmd = new ArrayList<>(launcherCommand);
        cmd.add(1, jvmOption);
        return cmd;
    }

    /** Processes whose command line mentions both {@code a} and {@code b}. */
    private static List<String> processesWith(String a, String b) throws IOException {
        List<String> found = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    String cmd = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8)
                            .replace('\0', ' ');
                    if (cmd.contains(a) && cmd.contains(b)) {
                        found.add(p.getFileName() + ": " + cmd);
                    }
                } catch (IOException e) {
                    // it ended meanwhile
                }
            }
        }
        return found;
    }

    private Result checkpointed(List<String> appCmd) throws Exception {
        Result cold = run(launcher(store(), List.of(), appCmd), dir, "cold");
        assertEquals(0, cold.exit(), cold::toString);
        assertTrue(cold.has("OUTCOME CHECKPOINTED"), cold::toString);
        return cold;
    }

    /** {@code restored} was restored in {@code mode} and has {@code cold}'s state. */
    private static void assertRestoredWhole(Result restored, Result cold, String mode) {
        assertEquals(0, restored.exit(), restored::toString);
        assertTrue(restored.has("OUTCOME RESTORED"), restored::toString);
        assertTrue(restored.err().contains("mode=" + mode), restored::toString);
        assertEquals(stateHash(cold), afterHash(restored), "same state after the " + mode + " restore");
        assertTrue(restored.has("ballast=true"), restored::toString);
    }

    @Test
    @DisplayName("restored with lazy pages (flag or property), the app's state is whole and the daemon is gone")
    @Timeout(300)
    void lazyRestoreKeepsState() throws Exception {
        List<String> appCmd = app("--ballast-mb", BALLAST_MB);
        Result cold = checkpointed(appCmd);
        List<List<String>> launchers = List.of(launcher(store(), List.of("--restore-mode", "lazy"), appCmd),
                withLauncherOption(launcher(store(), List.of(), appCmd), "-Dcryo.restore.lazy=true"));
        int n = 0;
        for (List<String> cmd : launchers) {
            Result restored = run(cmd, dir, "lazy" + n++);
            assertRestoredWhole(restored, cold, "lazy");
            assertTrue(restored.err().matches("(?s).*lazy restore of image \\S+: all pages in memory after \\d+ ms.*"),
                    "the daemon brought every page in:\n" + restored);
            assertEquals(List.of(), processesWith("lazy-pages", store().toString()), "no daemon left running");
            assertFalse(Files.exists(store().resolve("last-failed-lazy-pages.log")), "nothing failed");
        }
    }

    @Test
    @DisplayName("by default the mode follows the page faults measured: lazy from 200 ms of them, else eager")
    @Timeout(300)
    void defaultFollowsPageFaults() throws Exception {
        List<String> appCmd = app("--ballast-mb", BALLAST_MB);
        Result cold = checkpointed(appCmd);
        Result restored = run(launcher(store(), List.of(), appCmd), dir, "default");
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("mode=(\\w+) modeBasis=pageFaults faultMs=(\\d+)")
                .matcher(restored.err());
        assertTrue(m.find(), "the timing line says the mode was chosen by page faults:\n" + restored);
        String expected = Long.parseLong(m.group(2)) >= 200 ? "lazy" : "eager";
        assertEquals(expected, m.group(1), restored::toString);
        assertRestoredWhole(restored, cold, expected);
        assertEquals(expected.equals("lazy"), restored.err().contains("lazy restore of image"), restored::toString);
    }

    @Test
    @DisplayName("with --restore-mode eager and with -Dcryo.restore.lazy=false: eager, no daemon")
    @Timeout(300)
    void eagerStillWorks() throws Exception {
        List<String> appCmd = app("--ballast-mb", BALLAST_MB);
        Result cold = checkpointed(appCmd);
        List<List<String>> launchers = List.of(launcher(store(), List.of("--restore-mode", "eager"), appCmd),
                withLauncherOption(launcher(store(), List.of(), appCmd), "-Dcryo.restore.lazy=false"));
        int n = 0;
        for (List<String> cmd : launchers) {
            Result restored = run(cmd, dir, "eager" + n++);
            assertRestoredWhole(restored, cold, "eager");
            assertFalse(restored.err().contains("lazy restore of image"), restored::toString);
        }
        Result usage = run(launcher(store(), List.of("--restore-mode", "sometimes"), appCmd), dir, "usage");
        assertEquals(2, usage.exit(), usage::toString);
        assertTrue(usage.err().contains("--restore-mode needs eager or lazy"), usage::toString);
    }

    @Test
    @DisplayName("the image removed while the daemon still brings pages in: the app's memory is whole all the same")
    @Timeout(300)
    void imageRemovedDuringLazyRestore() throws Exception {
        List<String> appCmd = app("--ballast-mb", "256", "--linger-ms", "3000");
        Result cold = checkpointed(appCmd);
        Path image = ChildJvm.images(store()).get(0);
        Process launcher = ChildJvm.start(launcher(store(), List.of("--restore-mode", "lazy"), appCmd), dir, "removed",
                java.util.Map.of());
        Path err = dir.resolve("removed.err");
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(120);
        while (!Files.readString(err).contains("cryo: restored image")) {
            assertTrue(System.nanoTime() < deadline && launcher.isAlive(), "never restored:\n" + Files.readString(err));
            Thread.sleep(5);
        }
        boolean allInAlready = Files.readString(err).contains("all pages in memory");
        dev.cryo.internal.ImageStore.deleteTree(image);
        assertFalse(Files.exists(image));
        Result r = ChildJvm.finish(launcher, dir, "removed");
        org.junit.jupiter.api.Assumptions.assumeFalse(allInAlready,
                "the daemon was done before the image could be removed: nothing shown");
        assertRestoredWhole(r, cold, "lazy");
        assertTrue(r.err().contains("all pages in memory"), "the pages came from the removed image's open files:\n" + r);
    }

    @Test
    @DisplayName("a daemon that has not brought all pages in within its time: the app is killed, the log kept")
    @Timeout(300)
    void unfinishedDaemonEndsTheApp() throws Exception {
        // More pages than the other tests: the daemon must still be copying when the watch begins,
        // which on a loaded machine comes 100 ms or more after CRIU returned.
        List<String> appCmd = app("--ballast-mb", "384", "--linger-ms", "60000");
        checkpointed(appCmd);
        // 1 ms: the daemon cannot have copied ~400 MB by then, as if it had hung.
        Result r = run(withLauncherOption(launcher(store(), List.of("--restore-mode", "lazy"), appCmd),
                "-Dcryo.restore.lazyTimeoutSeconds=0.001"), dir, "timeout");
        org.junit.jupiter.api.Assumptions.assumeFalse(r.err().contains("all pages in memory"),
                "the daemon had copied every page before the watch began: no unfinished daemon to show\n" + r);
        assertEquals(128 + 9, r.exit(), "the app was killed (SIGKILL):\n" + r);
        assertTrue(r.err().contains("had not brought all pages in after 1 ms"), r::toString);
        assertTrue(r.err().contains("The app was killed: its pages not yet copied would have read as zeros."),
                r::toString);
        assertTrue(r.err().contains("--restore-mode eager"), "says what to do:\n" + r);
        assertFalse(r.has("DONE"), "the app did not go on");
        assertTrue(Files.isRegularFile(store().resolve("last-failed-lazy-pages.log")), r::toString);
        String pid = r.err().replaceAll("(?s).*restored image \\S+ in \\d+ ms \\(pid (\\d+)\\).*", "$1");
        ChildJvm.awaitGone(Long.parseLong(pid));
        assertEquals(List.of(), processesWith("lazy-pages", store().toString()), "no daemon left running");
    }
}
