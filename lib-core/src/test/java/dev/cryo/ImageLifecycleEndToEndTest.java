package dev.cryo;

import static dev.cryo.ChildJvm.app;
import static dev.cryo.ChildJvm.java;
import static dev.cryo.ChildJvm.launcher;
import static dev.cryo.ChildJvm.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.ChildJvm.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code cryo inspect}, {@code rm} and {@code prune} on an image of a real checkpoint, and its timings files. */
@DisplayName("image lifecycle after a real checkpoint and restore")
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ImageLifecycleEndToEndTest {
    @TempDir
    Path dir;

    private static List<String> cryo(String... args) {
        return java("dev.cryo.internal.launch.Launcher", args);
    }

    @Test
    @DisplayName("checkpoint, restore, inspect (fits, sizes, timings of both), then prune keeps it and rm removes it")
    void inspectPruneRemove() throws Exception {
        Path store = dir.resolve("images");
        List<String> appCommand = app("--entries", "1000");
        Result cold = run(launcher(store, List.of(), appCommand), dir, "cold");
        assertTrue(cold.has("OUTCOME CHECKPOINTED"), cold::toString);
        Path image = ChildJvm.images(store).get(0);
        String id = image.getFileName().toString().substring("img-".length());
        String checkpointTimings = Files.readString(image.resolve("timings.json"));
        assertTrue(checkpointTimings.contains("\"criuDump\": "), checkpointTimings);

        Result restored = run(launcher(store, List.of(), appCommand), dir, "restored");
        assertTrue(restored.has("OUTCOME RESTORED"), restored::toString);
        List<String> restores = Files.readAllLines(image.resolve("restores.log"));
        assertTrue(restores.stream().anyMatch(l -> l.startsWith("{\"by\":\"launcher\"") && l.contains("\"criuRestore\":")),
                restores::toString);
        assertTrue(restores.stream().anyMatch(l -> l.startsWith("{\"by\":\"app\"") && l.contains("\"steps\":{")),
                restores::toString);
        for (String file : List.of("timings.json", "restores.log")) { // owner-only, as every file of an image
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(image.resolve(file))), file);
        }

        List<String> inspect = new ArrayList<>(cryo("inspect", "--image", store.toString(), "--json", id, "--"));
        inspect.addAll(appCommand);
        Result inspected = run(inspect, dir, "inspect");
        assertEquals(0, inspected.exit(), inspected::toString);
        assertTrue(inspected.out().contains("\"id\": \"" + id + "\""), inspected::toString);
        assertTrue(inspected.out().contains("\"fits\": true"), inspected::toString);
        assertTrue(inspected.out().contains("\"fitFor\": \"the command given\""), inspected::toString);
        assertTrue(inspected.out().matches("(?s).*\"criuPages\": [1-9][0-9]{5,}.*"), inspected::toString);
        assertTrue(inspected.out().contains("        \"criuDump\": "), inspected::toString);
        assertTrue(inspected.out().contains("{\"by\":\"launcher\""), inspected::toString);

        Result text = run(cryo("inspect", "--image", store.toString()), dir, "inspect-text");
        assertEquals(0, text.exit(), text::toString);
        assertTrue(text.out().contains("fits:       yes (its own build on this machine)"), text::toString);
        assertTrue(text.out().contains("checkpoint: "), text::toString);

        Result pruned = run(cryo("prune", "--image", store.toString(), "--json"), dir, "prune");
        assertEquals(0, pruned.exit(), pruned::toString);
        assertTrue(pruned.out().contains("\"kept\": [\n    \"" + id + "\""), pruned::toString);

        Result removed = run(cryo("rm", "--image", store.toString(), id), dir, "rm");
        assertEquals(0, removed.exit(), removed::toString);
        assertEquals(List.of(), ChildJvm.images(store));
        assertEquals(1, run(cryo("inspect", "--image", store.toString(), id), dir, "gone").exit());
        assertEquals(1, run(cryo("rm", "--image", store.toString(), id), dir, "rm-again").exit());
    }
}
