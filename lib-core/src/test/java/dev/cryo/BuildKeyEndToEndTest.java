package dev.cryo;

import static dev.cryo.ChildJvm.launcher;
import static dev.cryo.ChildJvm.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.ChildJvm.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** An app that keeps its images and logs below a directory of its class path. */
@DisplayName("the build key is the build, not what the app writes beside its classes")
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class BuildKeyEndToEndTest {
    @TempDir
    Path dir;

    @Test
    @DisplayName("images and logs inside a class path directory: restored; a changed class file: cold, and why")
    void imagesAndLogsBesideTheClasses() throws Exception {
        Path classes = Files.createDirectories(dir.resolve("app"));
        Path extra = Files.writeString(classes.resolve("Extra.class"), "v1");
        Path store = classes.resolve("data/images");
        // No perf-data file: another JVM starting on this machine may delete CRIU's ghost copy of it mid-restore.
        List<String> app = List.of(ChildJvm.JAVA.toString(), "--enable-native-access=ALL-UNNAMED", "-Xshare:auto",
                "-XX:-UsePerfData", "-cp", classes + ":" + ChildJvm.CLASS_PATH, "dev.cryo.testapp.StatefulApp", "--entries", "1000");

        Result cold = run(launcher(store, List.of(), app), dir, "cold");
        assertTrue(cold.has("OUTCOME CHECKPOINTED"), cold::toString);
        Files.createDirectories(classes.resolve("logs"));
        Files.writeString(classes.resolve("logs/app.log"), "the app's log\n");
        Files.writeString(classes.resolve("app.log"), "another log\n");

        Result restored = run(launcher(store, List.of(), app), dir, "restored");
        assertEquals(0, restored.exit(), restored::toString);
        assertTrue(restored.has("OUTCOME RESTORED"), restored::toString);

        Files.writeString(extra, "v2, rebuilt");
        Result rebuilt = run(launcher(store, List.of(), app), dir, "rebuilt");
        String why = "class path entry " + classes + " changed";
        assertTrue(rebuilt.err().contains("cryo: image ") && rebuilt.err().contains(" was made from another build: " + why),
                rebuilt::toString);
        assertTrue(rebuilt.has("OUTCOME CHECKPOINTED"), "another build, so a new image:\n" + rebuilt);
        assertTrue(rebuilt.err().contains("No image in " + store + " fits this process"), rebuilt::toString);
        assertTrue(rebuilt.err().lines().anyMatch(l -> l.contains("No image in") && l.contains(why)), rebuilt::toString);
    }
}
