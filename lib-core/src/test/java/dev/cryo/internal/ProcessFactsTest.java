package dev.cryo.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ProcessFactsTest {
    @Test
    @DisplayName("CRIU's names for stdio: files lose their leading slash, pipes stay as they are")
    void criuKeys() throws Exception {
        assertEquals("tmp/out.log", ProcessFacts.criuKey(Path.of("/proc/self/fd/1"), "/tmp/out.log"));
        assertEquals("pipe:[1234]", ProcessFacts.criuKey(Path.of("/proc/self/fd/1"), "pipe:[1234]"));
        assertEquals(3, ProcessFacts.stdioKeys().size(), "this JVM has stdin, stdout and stderr");
    }

    @Test
    @DisplayName("this JVM's command line, memory and child processes are read from /proc")
    void facts() throws Exception {
        assertTrue(ProcessFacts.commandLine().get(0).endsWith("java"), ProcessFacts.commandLine()::toString);
        assertTrue(ProcessFacts.residentBytes() > 1 << 20);
        Process child = new ProcessBuilder("sleep", "5").start();
        try {
            assertTrue(ProcessFacts.childPids().contains((int) child.pid()));
            assertFalse(ProcessFacts.isZombie((int) child.pid()));
        } finally {
            child.destroyForcibly().waitFor();
        }
    }
}
