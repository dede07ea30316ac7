package dev.cryo;

import static dev.cryo.ChildJvm.images;
import static dev.cryo.ChildJvm.launcher;
import static dev.cryo.ChildJvm.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.ChildJvm.Result;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Code written for org.crac, unchanged, is checkpointed and restored by Cryo on a stock JDK. */
@DisplayName("org.crac code runs on Cryo")
class CracCompatibilityEndToEndTest {
    @TempDir
    Path dir;

    @Test
    @DisplayName("org.crac's checkpointRestore() checkpoints, and returns in the restored copy with the same state")
    void checkpointRestoreThroughOrgCrac() throws Exception {
        Path store = dir.resolve("store");
        List<String> cmd = ChildJvm.java("dev.cryo.testapp.CracApp");
        Result cold = run(launcher(store, List.of(), cmd), dir, "cold");
        assertEquals(0, cold.exit(), cold::toString);
        assertEquals(List.of("CRAC BEFORE crac1", "CRAC BEFORE crac0"), cold.lines("CRAC BEFORE"));
        assertEquals(List.of("CRAC AFTER crac0", "CRAC AFTER crac1"), cold.lines("CRAC AFTER"));
        assertEquals(1, images(store).size(), "Cryo took the checkpoint");
        String secret = cold.line("STATE secret=").substring("STATE secret=".length());

        Result restored = run(launcher(store, List.of(), cmd), dir, "restored");
        assertEquals(0, restored.exit(), restored::toString);
        assertTrue(restored.err().contains("CRYO RESTORED"), restored::toString);
        assertEquals(List.of("CRAC AFTER crac0", "CRAC AFTER crac1"), restored.lines("CRAC AFTER"));
        assertEquals("CRAC RETURNED secret=" + secret, restored.line("CRAC RETURNED"), "same state");
    }

    @Test
    @DisplayName("a resource refusing the checkpoint reaches org.crac as its CheckpointException, causes kept")
    void failureMapsToOrgCracException() throws Exception {
        Result r = run(launcher(dir.resolve("store"), List.of(), ChildJvm.java("dev.cryo.testapp.CracApp", "--fail")),
                dir, "app");
        assertTrue(r.has("CRAC CHECKPOINT-EXCEPTION suppressed=2 first=dev.cryo.CheckpointException"), r::toString);
        assertTrue(r.has("crac1 refuses"), r::toString);
        assertEquals(List.of("CRAC AFTER crac0"), r.lines("CRAC AFTER"), "the notified one is rolled back");
        assertTrue(images(dir.resolve("store")).isEmpty());
    }
}
