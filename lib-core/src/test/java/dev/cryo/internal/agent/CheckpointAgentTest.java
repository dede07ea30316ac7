package dev.cryo.internal.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class CheckpointAgentTest {
    @Test
    @DisplayName("the trigger's options: after, port, reply; a bad one names the options")
    void options() {
        CheckpointAgent.Trigger t = CheckpointAgent.Trigger.parse("port=8080, after=1.5");
        assertEquals(8080, t.port());
        assertEquals(Duration.ofMillis(1500), t.after());
        assertEquals(Path.of("/tmp/r"), CheckpointAgent.Trigger.parse("reply=/tmp/r").reply());
        assertTrue(CheckpointAgent.Trigger.parse(null).isNone());
        assertTrue(CheckpointAgent.Trigger.parse("").isNone());
        for (String bad : new String[] {"port=0", "after=-1", "delay=3", "port=x"}) {
            String message = assertThrows(IllegalArgumentException.class, () -> CheckpointAgent.Trigger.parse(bad))
                    .getMessage();
            assertTrue(message.contains("'" + bad + "'") && message.contains("after=SECONDS and port=N"), message);
        }
    }

    @Test
    @DisplayName("port=N sees a listening socket in /proc/net/tcp without connecting, and its end")
    void listening() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
            assertTrue(CheckpointAgent.Trigger.listening(port));
        }
        assertFalse(CheckpointAgent.Trigger.listening(port));
    }
}
