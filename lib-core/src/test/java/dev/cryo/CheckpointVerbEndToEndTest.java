package dev.cryo;

import static dev.cryo.ChildJvm.images;
import static dev.cryo.ChildJvm.launcher;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.ChildJvm.Result;
import dev.cryo.internal.launch.AgentJar;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoints from outside: an app that never calls Cryo is checkpointed by {@code cryo checkpoint
 * PID} or by the agent's trigger, and the next {@code cryo run} of its command restores it with its state.
 */
@DisplayName("cryo checkpoint PID and the agent")
class CheckpointVerbEndToEndTest {
    @TempDir
    Path dir;

    private Path store() {
        return dir.resolve("store");
    }

    private Path stop() {
        return dir.resolve("stop");
    }

    private Result checkpoint(String pid) throws Exception {
        return ChildJvm.run(ChildJvm.java("dev.cryo.internal.launch.Launcher", "checkpoint", pid), dir, "checkpoint",
                Map.of("CRYO_HOME", dir.resolve("home").toString()));
    }

    private void await(String what, BooleanSupplier done, Process p, String name) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!done.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline && (p == null || p.isAlive()), "no " + what + ":\n"
                    + ChildJvm.read(dir, name, p == null || p.isAlive() ? -1 : p.exitValue()));
            Thread.sleep(20);
        }
    }

    private String output(String name) {
        try {
            return Files.readString(dir.resolve(name + ".out")) + Files.readString(dir.resolve(name + ".err"));
        } catch (java.io.IOException e) {
            return "";
        }
    }

    /** Starts {@code cmd} through the launcher and returns its READY line. */
    private String startOriginal(List<String> cmd, Process[] holder) throws Exception {
        holder[0] = ChildJvm.start(launcher(store(), List.of(), cmd), dir, "original", Map.of());
        await("READY line", () -> output("original").contains("READY "), holder[0], "original");
        return output("original").lines().filter(l -> l.startsWith("READY ")).findFirst().orElseThrow();
    }

    /** Stops the original, restores the image and proves the restored copy has the original's state. */
    private void stopAndRestore(Process original, String ready, List<String> cmd) throws Exception {
        String pid = ready.replaceAll(".*pid=(\\d+).*", "$1");
        Files.createFile(stop());
        Result o = ChildJvm.finish(original, dir, "original");
        assertEquals(0, o.exit(), o::toString);
        Files.delete(stop());
        ChildJvm.awaitGone(Long.parseLong(pid));

        Process restored = ChildJvm.start(launcher(store(), List.of(), cmd), dir, "restored", Map.of());
        try {
            // The agent's thread says so once the restore is over (resources included).
            await("restore", () -> output("restored").contains("Cryo's agent: this process was restored"), restored,
                    "restored");
            Files.createFile(stop());
            Result r = ChildJvm.finish(restored, dir, "restored");
            assertEquals(0, r.exit(), r::toString);
            assertEquals(ready.replace("READY ", "BYE ") + " ticks=true", r.line("BYE "),
                    "the restored copy has the original's pid, token and table:\n" + r);
        } finally {
            restored.descendants().forEach(ProcessHandle::destroyForcibly);
            restored.destroyForcibly();
        }
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    @DisplayName("an app with no Cryo call, checkpointed by cryo checkpoint PID, is restored by the next run")
    void checkpointFromOutside() throws Exception {
        List<String> cmd = ChildJvm.java("dev.cryo.testapp.PlainApp", stop().toString());
        Process[] original = new Process[1];
        try {
            String ready = startOriginal(cmd, original);
            String pid = ready.replaceAll(".*pid=(\\d+).*", "$1");
            Result c = checkpoint(pid);
            assertEquals(0, c.exit(), c::toString);
            assertTrue(c.out().startsWith("checkpointed JVM " + pid + ": image "), c::toString);
            assertEquals(1, images(store()).size(), "one image");
            assertTrue(c.out().contains(images(store()).get(0).toString()), c::toString);
            assertTrue(original[0].isAlive(), "the app goes on after its checkpoint");
            assertTrue(!output("original").contains("FILE_CHANGED"), "the agent jar, written after the app's start,"
                    + " is not reported as changed:\n" + output("original"));
            stopAndRestore(original[0], ready, cmd);
        } finally {
            original[0].descendants().forEach(ProcessHandle::destroyForcibly);
            original[0].destroyForcibly();
        }
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    @DisplayName("-javaagent:...=after=1 checkpoints the app a second after its start; the next run restores it")
    void agentTriggerAfterDelay() throws Exception {
        Path jar = AgentJar.writeInto(dir.resolve("agent"));
        List<String> cmd = new ArrayList<>(ChildJvm.java("dev.cryo.testapp.PlainApp", stop().toString()));
        cmd.add(1, "-javaagent:" + jar + "=after=1");
        Process[] original = new Process[1];
        try {
            String ready = startOriginal(cmd, original);
            await("checkpoint by the agent", () -> output("original").contains("Cryo's agent: checkpoint CHECKPOINTED"),
                    original[0], "original");
            assertEquals(1, images(store()).size(), "one image");
            stopAndRestore(original[0], ready, cmd);
        } finally {
            original[0].descendants().forEach(ProcessHandle::destroyForcibly);
            original[0].destroyForcibly();
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    @DisplayName("a pid that is not a JVM: a clear error, exit 1, and the process is left alone (no SIGQUIT)")
    void notAJvm() throws Exception {
        Process sleep = new ProcessBuilder("sleep", "60").start();
        try {
            Result c = checkpoint(Long.toString(sleep.pid()));
            assertEquals(1, c.exit(), c::toString);
            assertTrue(c.err().contains("process " + sleep.pid() + " (/usr/bin/sleep) is not a Java VM")
                    || c.err().contains("process " + sleep.pid() + " (/bin/sleep) is not a Java VM"), c::toString);
            Thread.sleep(200);
            assertTrue(sleep.isAlive(), "attaching would have sent it SIGQUIT");
            Result none = checkpoint("999999999");
            assertEquals(1, none.exit(), none::toString);
            assertTrue(none.err().contains("no process 999999999 is running here"), none::toString);
            Result usage = checkpoint("nope");
            assertEquals(2, usage.exit(), usage::toString);
        } finally {
            sleep.destroyForcibly();
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    @DisplayName("a JVM without native access: the error names the option to add, exit 1")
    void withoutNativeAccess() throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ChildJvm.JAVA.toString(), "-Dcryo.image.dir=" + store(), "-cp",
                ChildJvm.CLASS_PATH, "dev.cryo.testapp.PlainApp", stop().toString()));
        Process app = ChildJvm.start(cmd, dir, "app", Map.of());
        try {
            await("READY line", () -> output("app").contains("READY "), app, "app");
            Result c = checkpoint(Long.toString(app.pid()));
            assertEquals(1, c.exit(), c::toString);
            assertTrue(c.err().contains("add it to the app's java command")
                    && c.err().contains("--enable-native-access=ALL-UNNAMED"), c::toString);
            assertEquals(List.of(), images(store()), "no image");
            assertTrue(app.isAlive(), "the app goes on");
        } finally {
            app.destroyForcibly();
        }
    }

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    @DisplayName("a runtime without jdk.attach (a jlink'ed one) runs every verb; checkpoint says what is missing")
    void runtimeWithoutAttach() throws Exception {
        List<String> limited = new ArrayList<>(ChildJvm.java("dev.cryo.internal.launch.Launcher"));
        // As the device bundle's runtime was: every module Cryo uses but jdk.attach.
        limited.add(1, "--limit-modules=java.base,java.logging,java.management,jdk.unsupported,java.xml,"
                + "jdk.management,java.naming");
        List<String> help = new ArrayList<>(limited);
        help.add("--help");
        Result r = ChildJvm.run(help, dir, "help");
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.out().contains("checkpoint"), r::toString);
        // A JVM to name (never the test runner): the app waits for its stop file.
        Process target = ChildJvm.start(ChildJvm.java("dev.cryo.testapp.PlainApp", stop().toString()), dir, "target",
                Map.of());
        try {
            await("READY line", () -> output("target").contains("READY "), target, "target");
            List<String> cmd = new ArrayList<>(limited);
            cmd.addAll(List.of("checkpoint", Long.toString(target.pid())));
            Result c = ChildJvm.run(cmd, dir, "checkpoint-limited", Map.of("CRYO_HOME", dir.resolve("home").toString()));
            assertEquals(1, c.exit(), c::toString);
            assertTrue(c.err().contains("has no jdk.attach module"), c::toString);
        } finally {
            target.destroyForcibly();
        }
    }
}
