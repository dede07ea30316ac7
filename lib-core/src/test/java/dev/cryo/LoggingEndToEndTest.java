package dev.cryo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.ChildJvm.Result;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cryo's messages reach the user with or without an SLF4J provider: without one (SLF4J 2 would
 * drop them) they go to System.Logger, java.util.logging's console on stderr.
 */
@DisplayName("Cryo's messages without an SLF4J provider")
class LoggingEndToEndTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    @DisplayName("without slf4j-simple the warnings, the restored marker and why a checkpoint was skipped are on stderr")
    void withoutProviderMessagesGoToSystemLogger() throws Exception {
        Path store = dir.resolve("store");
        String classPath = ChildJvm.classPathWithout("slf4j-simple");
        List<String> cmd = ChildJvm.javaWithClassPath(classPath, "dev.cryo.testapp.PreflightApp", dir.toString(), "--checkpoint");

        Result first = ChildJvm.run(ChildJvm.launcher(store, List.of(), cmd), dir, "first");
        assertEquals(0, first.exit(), first::toString);
        // java.util.logging's console format: the level, then the message, on stderr.
        assertTrue(first.err().contains("WARNING: Before the checkpoint: FILE_OPEN_FOR_WRITING: " + dir.resolve("app.log")),
                first::toString);
        assertTrue(first.err().contains("INFO: Checkpoint image "), first::toString);
        assertFalse(first.err().contains("SLF4J"), "no NOP warning from SLF4J:\n" + first);

        Result restored = ChildJvm.run(ChildJvm.launcher(store, List.of(), cmd), dir, "restored");
        assertEquals(0, restored.exit(), restored::toString);
        assertTrue(restored.has("OUTCOME RESTORED"), restored::toString);
        assertTrue(restored.err().contains("INFO: CRYO RESTORED from checkpoint image "), restored::toString);

        Result again = ChildJvm.run(ChildJvm.launcher(store, List.of("--cold"), cmd), dir, "again");
        assertTrue(again.has("OUTCOME SKIPPED"), again::toString);
        assertTrue(again.err().contains("INFO: Checkpoint skipped: image "), again::toString);
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    @DisplayName("with an app's slf4j-api 1.7 and its binding in place of 2.x, the messages go through it")
    void withSlf4j17MessagesGoToIt() throws Exception {
        Path store = dir.resolve("store");
        Path old = Path.of("target", "slf4j-1").toAbsolutePath(); // copied by lib-core/pom.xml
        String classPath = ChildJvm.classPathWithout("slf4j-") + java.io.File.pathSeparator
                + old.resolve("slf4j-api-1.7.36.jar") + java.io.File.pathSeparator + old.resolve("slf4j-simple-1.7.36.jar");
        List<String> cmd = ChildJvm.javaWithClassPath(classPath, "dev.cryo.testapp.StatefulApp", "--entries", "1000");
        Result cold = ChildJvm.run(ChildJvm.launcher(store, List.of(), cmd), dir, "cold");
        assertEquals(0, cold.exit(), cold::toString);
        assertTrue(cold.has("OUTCOME CHECKPOINTED"), cold::toString);
        assertTrue(cold.err().contains("INFO dev.cryo.Checkpointer - Checkpoint image "), cold::toString);
        Result restored = ChildJvm.run(ChildJvm.launcher(store, List.of(), cmd), dir, "restored");
        assertEquals(0, restored.exit(), restored::toString);
        assertTrue(restored.err().contains("INFO dev.cryo.Checkpointer - CRYO RESTORED from checkpoint image "),
                restored::toString);
    }
}
