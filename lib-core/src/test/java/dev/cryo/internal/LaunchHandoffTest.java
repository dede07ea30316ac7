package dev.cryo.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LaunchHandoffTest {
    @TempDir
    Path dir;

    @Test
    @DisplayName("what the launcher puts in a cold app's environment is what the app reads")
    void environment() {
        Map<String, String> gpuMap = new java.util.LinkedHashMap<>();
        gpuMap.put("0", "1");
        gpuMap.put("1", "0");
        LaunchHandoff h = new LaunchHandoff(dir, "key", gpuMap,
                Optional.of(new LaunchHandoff.CheckedCriu(40201, Path.of("/opt/criu"))),
                Map.of("HOME", "0123456789abcdef", "ODD NAME,x", "fedcba9876543210"));
        Map<String, String> env = new HashMap<>(Map.of("PATH", "/bin"));
        h.into(env);
        assertEquals(Optional.of(h), LaunchHandoff.fromEnvironment(env));
        assertEquals(List.of("0", "1"), List.copyOf(LaunchHandoff.fromEnvironment(env).orElseThrow().gpuMap().keySet()));
    }

    @Test
    @DisplayName("an app not started by the launcher has no handoff, even with CRYO_IMAGE_DIR set by the user")
    void absent() {
        assertTrue(LaunchHandoff.fromEnvironment(Map.of()).isEmpty());
        assertTrue(LaunchHandoff.fromEnvironment(Map.of(LaunchHandoff.IMAGE_DIR, "/x")).isEmpty());
        Map<String, String> env = new HashMap<>();
        new LaunchHandoff(dir, "key", Map.of(), Optional.empty()).into(env);
        assertTrue(LaunchHandoff.fromEnvironment(env).orElseThrow().criu().isEmpty());
        assertTrue(LaunchHandoff.fromEnvironment(env).orElseThrow().gpuMap().isEmpty());
    }

    @Test
    @DisplayName("a restore's GPU map reaches the restored process through its request file, which goes afterwards")
    void restoreRequest() {
        LaunchHandoff.writeRestoreRequest(dir, 77, Map.of());
        assertEquals(Map.of(), LaunchHandoff.restoreGpuMap(dir, 77));
        assertEquals(ProcessHandle.current().pid(), LaunchHandoff.restoringLauncher(dir, 77), "whose stdio to take");
        assertEquals(0, LaunchHandoff.restoringLauncher(dir, 78));
        Path f = LaunchHandoff.writeRestoreRequest(dir, 77, LaunchHandoff.parseGpuMap(" 0=GPU-aa , 1=0,bad"));
        assertEquals(Map.of("0", "GPU-aa", "1", "0"), LaunchHandoff.restoreGpuMap(dir, 77));
        assertEquals(Map.of(), LaunchHandoff.restoreGpuMap(dir, 78), "another pid's restore asks nothing");
        LaunchHandoff.removeRestoreRequest(f);
        assertFalse(Files.exists(f));
    }

    @Test
    @DisplayName("the request file, written without Properties.store, reads back whatever the GPU map holds")
    void restoreRequestEscapes() {
        Map<String, String> odd = new java.util.LinkedHashMap<>();
        odd.put("GPU-a\\b", "x:y#z!w");
        odd.put("é", "1");
        LaunchHandoff.writeRestoreRequest(dir, 79, odd);
        assertEquals(odd, LaunchHandoff.restoreGpuMap(dir, 79));
    }
}
