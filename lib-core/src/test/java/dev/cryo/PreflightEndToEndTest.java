package dev.cryo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.ChildJvm.Result;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pre-flight check, on its own, in a real JVM holding each thing it looks for. */
@DisplayName("pre-flight check")
class PreflightEndToEndTest {
    @TempDir
    Path dir;

    @Test
    @DisplayName("finds TCP, files open for writing, changed, deleted or replaced, a child, a thread in native, each with its fix")
    void findsWhatWouldBreakARestore() throws Exception {
        Result r = ChildJvm.run(ChildJvm.java("dev.cryo.testapp.PreflightApp", dir.toString()), dir, "app");
        String port = r.line("PORT ").substring(5);
        assertTrue(r.has("FINDING TCP_LISTENING: TCP listener on 127.0.0.1:" + port), r::toString);
        assertTrue(r.out().lines().filter(l -> l.startsWith("FINDING TCP_ESTABLISHED")).count() == 2,
                "both ends of the loopback connection:\n" + r);
        assertTrue(r.has("tcpEstablished(true)"), "names the fix:\n" + r);
        assertTrue(r.has("FINDING FILE_OPEN_FOR_WRITING: " + dir.resolve("app.log")), r::toString);
        assertTrue(r.has("FINDING DELETED_FILE: " + dir.resolve("gone.tmp") + " (deleted)"), r::toString);
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("FINDING CHILD_PROCESS") && l.contains("sleep 30")),
                r::toString);
        assertTrue(r.has("FINDING FILE_CHANGED: " + dir.resolve("changed.txt")), r::toString);
        assertTrue(r.has("FINDING DELETED_FILE: " + dir.resolve("config.txt") + " (deleted) -> it was deleted, or"
                + " replaced by a rename"), r::toString);
        assertTrue(r.has("FINDING THREAD_IN_NATIVE: thread \"fifo-reader\" is in native java.io.FileInputStream.open0"),
                r::toString);
        assertEquals(1, r.out().lines().filter(l -> l.startsWith("FINDING THREAD_IN_NATIVE")).count(),
                "threads waiting on the JVM itself are no finding:\n" + r);
        assertTrue(r.out().lines().noneMatch(l -> l.contains("/tmp/hsperfdata")), "the JVM's own files are no finding");
    }

    @Test
    @DisplayName("before a real checkpoint the findings are logged; the restored copy resumes the thread in native")
    void findingsBeforeACheckpoint() throws Exception {
        Path store = dir.resolve("store");
        List<String> cmd = ChildJvm.java("dev.cryo.testapp.PreflightApp", dir.toString(), "--checkpoint");
        Result first = ChildJvm.run(ChildJvm.launcher(store, List.of(), cmd), dir, "first");
        assertEquals(0, first.exit(), first::toString);
        // Through slf4j-simple, on the test class path ([thread] LEVEL logger - message); without a
        // provider the same lines go to System.Logger (LoggingEndToEndTest).
        assertTrue(first.err().contains("WARN dev.cryo.Checkpointer - Before the checkpoint: THREAD_IN_NATIVE: thread"
                + " \"fifo-reader\""), first::toString);
        assertTrue(first.err().contains("Before the checkpoint: FILE_OPEN_FOR_WRITING: " + dir.resolve("app.log")),
                first::toString);

        Result restored = ChildJvm.run(ChildJvm.launcher(store, List.of(), cmd), dir, "restored");
        assertEquals(0, restored.exit(), restored::toString);
        assertTrue(restored.err().contains("INFO dev.cryo.Checkpointer - CRYO RESTORED"), restored::toString);
        assertEquals("FIFO read 3 bytes", restored.line("FIFO read"), "the interrupted open resumed after restore");
        assertEquals("before\nafter\n", java.nio.file.Files.readString(dir.resolve("app.log")),
                "the appending log goes on where it was");
    }
}
