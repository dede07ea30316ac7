package dev.cryo;

import static dev.cryo.ChildJvm.images;
import static dev.cryo.LineClient.ask;
import static dev.cryo.LineClient.freePort;
import static dev.cryo.ChildJvm.launcher;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.ChildJvm.Result;
import java.io.IOException;
import java.net.ConnectException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server checkpointed with its TCP listener open (CRIU 4.2 and newer dump it on today's
 * kernels): the original is gone, and the copy the launcher restores answers on the same port.
 */
@DisplayName("a TCP server checkpointed with its listener open")
class TcpListenerEndToEndTest {
    @TempDir
    Path dir;

    private Path store() {
        return dir.resolve("store");
    }

    private static List<String> server(int port, String... more) {
        List<String> args = new ArrayList<>(List.of("--port", Integer.toString(port)));
        args.addAll(List.of(more));
        return ChildJvm.java("dev.cryo.testapp.ServerApp", args.toArray(String[]::new));
    }

    private String readQuietly(String name) {
        try {
            return ChildJvm.read(dir, name, -1).toString();
        } catch (IOException e) {
            return e.toString();
        }
    }

    /** Starts the launcher that restores the server, and waits until the restored copy says so. */
    private Process restore(List<String> cmd, String name) throws Exception {
        Process p = ChildJvm.start(launcher(store(), List.of(), cmd), dir, name, Map.of());
        Path out = dir.resolve(name + ".out");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.readString(out).contains("OUTCOME")) {
            assertTrue(p.isAlive() && System.nanoTime() < deadline, "no restored copy came up:\n"
                    + ChildJvm.read(dir, name, p.isAlive() ? -1 : p.exitValue()));
            Thread.sleep(20);
        }
        return p;
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    @DisplayName("the original exits after its checkpoint, and the restored copy answers on the same port")
    void restoredCopyAnswersOnTheSamePort() throws Exception {
        int port = freePort();
        List<String> cmd = server(port);
        Result original = ChildJvm.run(launcher(store(), List.of(), cmd), dir, "original");
        assertEquals(0, original.exit(), original::toString);
        assertTrue(original.err().contains("Exiting after the checkpoint"), original::toString);
        assertEquals(1, images(store()).size(), "one image");
        long pid = Long.parseLong(original.line("LISTENING ").replaceAll(".*pid=(\\d+).*", "$1"));
        // The pre-flight report says what is true for CRIU >= 4.2 (bin/bootstrap's 4.2.1).
        String finding = original.line("FINDING TCP_LISTENING");
        assertTrue(finding.contains("127.0.0.1:" + port) && finding.contains("must be free"), finding);
        assertTrue(!finding.contains("close"), "no advice to close the listener with CRIU >= 4.2: " + finding);
        ChildJvm.awaitGone(pid);
        assertThrows(ConnectException.class, () -> ask(port, "anyone?"), "the original is gone, nobody listens");

        Process restored = restore(cmd, "restored");
        try {
            String answer = ask(port, "hello");
            assertEquals("pid=" + pid + " restored=true echo=hello", answer, () -> "the restored copy answers on port "
                    + port + ":\n" + readQuietly("restored"));
            assertEquals("bye", ask(port, "quit"));
            Result r = ChildJvm.finish(restored, dir, "restored");
            assertEquals(0, r.exit(), r::toString);
            assertTrue(r.has("OUTCOME RESTORED pid=" + pid), r::toString);
            assertTrue(r.err().contains("cryo: restored image"), r::toString);
        } finally {
            restored.descendants().forEach(ProcessHandle::destroyForcibly);
            restored.destroyForcibly();
        }
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    @DisplayName("a checkpoint refused for an established connection leaves no zombie; the next one restores")
    void failedCheckpointThenOneThatRestores() throws Exception {
        int port = freePort();
        List<String> cmd = server(port, "--fail-first");
        Result original = ChildJvm.run(launcher(store(), List.of(), cmd), dir, "original");
        assertEquals(0, original.exit(), original::toString);
        assertEquals("FIRST-FAILED DUMP_FAILED", original.line("FIRST-"), original::toString);
        String message = original.line("FIRST-MESSAGE");
        assertTrue(message.contains("tcpEstablished(true)"), "names the fix: " + message);
        assertEquals("ZOMBIES-AFTER-FAILURE []", original.line("ZOMBIES-AFTER-FAILURE"),
                "the failed dump's CRIU child is reaped:\n" + original);
        assertEquals("WATCHERS-AFTER-FAILURE []", original.line("WATCHERS-AFTER-FAILURE"),
                "the dump watcher ends with the checkpoint:\n" + original);
        assertEquals(1, images(store()).size(), "the second checkpoint wrote an image");
        long pid = Long.parseLong(original.line("LISTENING ").replaceAll(".*pid=(\\d+).*", "$1"));
        ChildJvm.awaitGone(pid);

        Process restored = restore(cmd, "restored");
        try {
            String answer = ask(port, "again");
            assertEquals("pid=" + pid + " restored=true echo=again", answer, () -> readQuietly("restored"));
            assertEquals("bye", ask(port, "quit"));
            Result r = ChildJvm.finish(restored, dir, "restored");
            assertEquals(0, r.exit(), r::toString);
            assertTrue(r.has("OUTCOME RESTORED pid=" + pid), r::toString);
            assertEquals("ZOMBIES []", r.line("ZOMBIES"), "no zombie child in the restored copy either:\n" + r);
        } finally {
            restored.descendants().forEach(ProcessHandle::destroyForcibly);
            restored.destroyForcibly();
        }
    }
}
