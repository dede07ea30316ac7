package dev.cryo;

import static dev.cryo.ChildJvm.images;
import static dev.cryo.LineClient.ask;
import static dev.cryo.LineClient.freePort;
import static dev.cryo.ChildJvm.temporaries;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.ChildJvm.Result;
import dev.cryo.internal.criu.CriuLocation;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
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
 * A dump that hangs, for real: the CRIU Cryo uses, given a post-dump action script that does not
 * return while CRIU lives, holds the app stopped under ptrace after writing its image, as a CRIU
 * that does not know the kernel does (CRIU 4.1.1 on some 6.18 kernels). The watcher ends CRIU
 * after the limit; the checkpoint fails with DUMP_TIMEOUT and the app goes on serving.
 */
@DisplayName("a dump that hangs cannot take the app with it")
class DumpTimeoutEndToEndTest {
    private static final int LIMIT_SECONDS = 5;

    @TempDir
    Path dir;

    private Path store() {
        return dir.resolve("store");
    }

    /**
     * A wrapper that runs the real criu with a configuration file naming a post-dump action script;
     * the script writes {@code hung} and waits until its parent, CRIU, is gone.
     */
    private Path hangingCriu() throws IOException {
        Path real = CriuLocation.resolve(null, null).binary();
        Path script = dir.resolve("hang.sh");
        Files.writeString(script, """
                #!/bin/sh
                [ "$CRTOOLS_SCRIPT_ACTION" = post-dump ] || exit 0
                echo "$PPID" > "$(dirname "$0")/hung"
                parent=$PPID
                while read -r _ _ _ ppid _ < /proc/$$/stat && [ "$ppid" = "$parent" ]; do sleep 0.1; done
                """);
        Path conf = Files.writeString(dir.resolve("criu.conf"), "action-script " + script + "\n");
        Path wrapper = dir.resolve("criu");
        Files.writeString(wrapper, "#!/bin/sh\nCRIU_CONFIG_FILE='" + conf + "' exec '" + real + "' \"$@\"\n");
        for (Path p : List.of(script, wrapper)) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return wrapper;
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    @DisplayName("started by the launcher (--dump-timeout): DUMP_TIMEOUT, the app answers, nothing left behind")
    void underTheLauncher() throws Exception {
        int port = freePort();
        List<String> app = ChildJvm.java("dev.cryo.testapp.ServerApp", "--port", Integer.toString(port), "--stay");
        List<String> cmd = ChildJvm.launcher(store(), List.of("--dump-timeout", Integer.toString(LIMIT_SECONDS)), app);
        hangsAndGoesOn(cmd, Map.of("CRYO_CRIU", hangingCriu().toString()), port);
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    @DisplayName("plain java (-Dcryo.dump.timeout, -Dcryo.criu.binary): DUMP_TIMEOUT, the app answers, nothing left")
    void withoutLauncher() throws Exception {
        int port = freePort();
        List<String> cmd = new ArrayList<>(ChildJvm.java("dev.cryo.testapp.ServerApp", "--port",
                Integer.toString(port), "--stay", "--image", store().toString()));
        cmd.addAll(1, List.of("-Dcryo.dump.timeout=" + LIMIT_SECONDS, "-Dcryo.criu.binary=" + hangingCriu()));
        hangsAndGoesOn(cmd, Map.of(), port);
    }

    private void hangsAndGoesOn(List<String> cmd, Map<String, String> env, int port) throws Exception {
        Process p = ChildJvm.start(cmd, dir, "app", env);
        try {
            Path out = dir.resolve("app.out");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(dir.resolve("hung"))) {
                assertTrue(p.isAlive() && System.nanoTime() < deadline, "CRIU did not run the hanging action script:\n"
                        + ChildJvm.read(dir, "app", p.isAlive() ? -1 : p.exitValue()));
                Thread.sleep(20);
            }
            long pid = Long.parseLong(Files.readString(out).lines().filter(l -> l.startsWith("LISTENING "))
                    .findFirst().orElseThrow().replaceAll(".*pid=(\\d+).*", "$1"));
            String criuPid = Files.readString(dir.resolve("hung")).trim();
            assertEquals(criuPid, field(pid, "TracerPid"), "while CRIU hangs, it holds the app under ptrace");

            while (!Files.readString(out).contains("WATCHERS")) {
                assertTrue(p.isAlive() && System.nanoTime() < deadline, "the checkpoint did not end:\n"
                        + ChildJvm.read(dir, "app", p.isAlive() ? -1 : p.exitValue()));
                Thread.sleep(20);
            }
            Result r = ChildJvm.read(dir, "app", -1);
            String failed = r.line("CHECKPOINT-FAILED");
            assertTrue(failed.startsWith("CHECKPOINT-FAILED DUMP_TIMEOUT"), r::toString);
            long ms = Long.parseLong(failed.replaceAll(".*after_ms=(\\d+).*", "$1"));
            assertTrue(ms >= LIMIT_SECONDS * 1000L && ms < LIMIT_SECONDS * 1000L + 15_000, "ended after the limit: " + ms);
            String message = r.line("MESSAGE");
            assertTrue(message.contains("longer than its limit of " + LIMIT_SECONDS + " s")
                    && message.contains("(pid " + criuPid + ")"), message);
            assertTrue(message.contains(store().resolve("last-failed-checkpoint.log").toString()), "where the log is: " + message);
            assertTrue(message.contains("-Dcryo.dump.timeout=SECONDS") && message.contains("--dump-timeout"),
                    "how to raise the limit: " + message);
            assertEquals("ZOMBIES []", r.line("ZOMBIES"));
            assertEquals("WATCHERS []", r.line("WATCHERS"));

            assertEquals("0", field(pid, "TracerPid"), "the app is free again");
            assertEquals("pid=" + pid + " restored=false echo=still there", ask(port, "still there"),
                    "the app answers after the failed checkpoint");
            assertTrue(images(store()).isEmpty() && temporaries(store()).isEmpty(), "no image, no half-written one");
            List<String> left = leftOver(pid, Long.parseLong(criuPid), false);
            assertTrue(left.isEmpty(), "no CRIU or watcher left when the checkpoint returns: " + left);
            // The test's action script notices within 0.1 s that CRIU is gone.
            long scriptDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            while (!(left = leftOver(pid, Long.parseLong(criuPid), true)).isEmpty() && System.nanoTime() < scriptDeadline) {
                Thread.sleep(20);
            }
            assertTrue(left.isEmpty(), "no action script left: " + left);

            assertEquals("bye", ask(port, "quit"));
            assertEquals(0, ChildJvm.finish(p, dir, "app").exit());
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    private static String field(long pid, String name) throws IOException {
        return Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream().filter(l -> l.startsWith(name + ":"))
                .map(l -> l.substring(name.length() + 1).trim()).findFirst().orElseThrow();
    }

    /** Live processes that belong to the dump of {@code pid}: CRIU, the watcher, the action script (if asked). */
    private List<String> leftOver(long pid, long criuPid, boolean script) throws IOException {
        List<String> left = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(d -> d.getFileName().toString().chars().allMatch(Character::isDigit)).toList()) {
                try {
                    String cmdline = new String(Files.readAllBytes(p.resolve("cmdline"))).replace('\0', ' ');
                    boolean ours = cmdline.contains("cryo-dump-watcher " + pid + " ") || (script && cmdline.contains(dir.resolve("hang.sh").toString()))
                            || p.getFileName().toString().equals(Long.toString(criuPid));
                    if (ours && !Files.readString(p.resolve("stat")).replaceAll(".*\\) ", "").startsWith("Z")) {
                        left.add(p.getFileName() + ": " + cmdline.trim());
                    }
                } catch (IOException e) {
                    // Gone meanwhile.
                }
            }
        }
        return left;
    }
}
