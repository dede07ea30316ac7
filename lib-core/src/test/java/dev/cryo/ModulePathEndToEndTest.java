package dev.cryo;

import static dev.cryo.ChildJvm.JAVA;
import static dev.cryo.ChildJvm.images;
import static dev.cryo.ChildJvm.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.ChildJvm.Result;
import java.io.File;
import java.lang.module.FindException;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cryo as modules: the launcher and an app that is a named module requiring {@code dev.cryo} both
 * run from {@code --module-path} (Cryo's three modules and SLF4J), and the app checkpoints and
 * is restored.
 */
@DisplayName("Cryo on the module path")
class ModulePathEndToEndTest {
    private static final Set<String> MODULES = Set.of("dev.cryo", "dev.cryo.criu", "dev.cryo.cuda", "org.slf4j",
            "org.slf4j.simple");
    private static final String NATIVE = "--enable-native-access=dev.cryo,dev.cryo.criu,dev.cryo.cuda";

    @TempDir
    Path dir;

    /** The test class path's entries that are Cryo's modules or SLF4J's, as a module path. */
    private static String modulePath() {
        List<String> entries = new ArrayList<>();
        for (String entry : ChildJvm.CLASS_PATH.split(File.pathSeparator)) {
            try {
                if (ModuleFinder.of(Path.of(entry)).findAll().stream().map(ModuleReference::descriptor)
                        .anyMatch(d -> MODULES.contains(d.name()))) {
                    entries.add(entry);
                }
            } catch (FindException e) {
                // not a module
            }
        }
        return String.join(File.pathSeparator, entries);
    }

    /** Compiles the sample module {@code cryo.sample} against Cryo's modules; returns its classes. */
    private Path compileSample(String modulePath) throws Exception {
        Path src = dir.resolve("src");
        Files.createDirectories(src.resolve("cryo/sample"));
        Files.writeString(src.resolve("module-info.java"), "module cryo.sample { requires dev.cryo; }\n");
        Files.writeString(src.resolve("cryo/sample/Main.java"), """
                package cryo.sample;

                public final class Main {
                    public static void main(String[] args) throws Exception {
                        long state = System.nanoTime(); // differs in every cold start
                        System.out.println("STATE " + state);
                        dev.cryo.CheckpointOutcome o = dev.cryo.Checkpointer.checkpointNow();
                        System.out.println("OUTCOME " + o.kind() + " " + state);
                    }
                }
                """);
        Path classes = dir.resolve("cryo.sample");
        Path javac = Path.of(System.getProperty("java.home"), "bin", "javac");
        Result r = run(List.of(javac.toString(), "-d", classes.toString(), "--module-path", modulePath,
                src.resolve("module-info.java").toString(), src.resolve("cryo/sample/Main.java").toString()), dir, "javac");
        assertEquals(0, r.exit(), "the sample module compiles against dev.cryo:\n" + r);
        return classes;
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    @DisplayName("the launcher and a modular app run from --module-path: the app checkpoints, then is restored")
    void checkpointAndRestore() throws Exception {
        String modules = modulePath();
        for (String m : List.of("cryo-core", "cryo-criu", "cryo-cuda", "slf4j-api")) {
            assertTrue(modules.contains(m) || modules.contains(m.replace("cryo-", "lib-")), m + " in " + modules);
        }
        Path app = compileSample(modules);
        Path store = dir.resolve("store");
        // -XX:-UsePerfData: no perf-data file whose CRIU ghost a JVM starting elsewhere could delete mid-restore.
        List<String> cmd = new ArrayList<>(List.of(JAVA.toString(), NATIVE, "-XX:-UsePerfData", "--module-path",
                modules, "-m", "dev.cryo/dev.cryo.internal.launch.Launcher", "run", "--image", store.toString(), "--",
                JAVA.toString(), NATIVE, "-XX:-UsePerfData", "--module-path", modules + File.pathSeparator + app,
                "-m", "cryo.sample/cryo.sample.Main"));

        Result cold = run(cmd, dir, "cold");
        assertEquals(0, cold.exit(), cold::toString);
        String state = cold.line("STATE ").substring("STATE ".length());
        assertEquals("OUTCOME CHECKPOINTED " + state, cold.line("OUTCOME "), cold::toString);
        assertEquals(1, images(store).size(), cold::toString);

        Result restored = run(cmd, dir, "restored");
        assertEquals(0, restored.exit(), restored::toString);
        assertTrue(restored.err().contains("CRYO RESTORED"), restored::toString);
        assertEquals("OUTCOME RESTORED " + state, restored.line("OUTCOME "), "the state of the checkpoint:\n" + restored);
    }
}
