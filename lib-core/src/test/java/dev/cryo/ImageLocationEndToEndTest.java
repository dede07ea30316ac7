package dev.cryo;

import static dev.cryo.ChildJvm.images;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

/** Where images go when the app is started with plain {@code java}: nowhere unless asked. */
@DisplayName("no image is written where nobody asked for one")
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class ImageLocationEndToEndTest {
    @TempDir
    Path dir;

    /** The test app with its home directory under the test's directory, started without the launcher. */
    private List<String> app(String... jvmOptions) {
        List<String> cmd = new ArrayList<>(ChildJvm.app("--entries", "1000"));
        cmd.add(1, "-Duser.home=" + dir.resolve("home"));
        cmd.addAll(2, List.of(jvmOptions));
        return cmd;
    }

    @Test
    @DisplayName("with no image directory configured, checkpointNow() is SKIPPED and says how to set one")
    void skippedWithoutImageDirectory() throws Exception {
        Result r = ChildJvm.run(app(), dir, "plain");
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.has("OUTCOME SKIPPED"), r::toString);
        assertTrue(r.err().contains("no image directory is configured"), r::toString);
        assertTrue(r.err().contains("-Dcryo.image.dir=DIR"), r::toString);
        assertTrue(r.lines("BEFORE").isEmpty(), "nothing is disturbed by a skipped checkpoint");
        assertFalse(Files.exists(dir.resolve("home/.cryo/images")), "nothing written under the home directory");
    }

    @Test
    @DisplayName("-Dcryo.image.dir=default opts in to ~/.cryo/images/<main class>")
    void defaultIsAnOptIn() throws Exception {
        Result r = ChildJvm.run(app("-Dcryo.image.dir=default"), dir, "opted-in");
        assertTrue(r.has("OUTCOME CHECKPOINTED"), r::toString);
        assertEquals(1, images(dir.resolve("home/.cryo/images/dev.cryo.testapp.StatefulApp")).size(), r::toString);
    }
}
