package dev.cryo.internal.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.internal.ImageMetadata;
import dev.cryo.internal.ImageStore;
import dev.cryo.internal.Json;
import dev.cryo.internal.StepTimings;
import dev.cryo.internal.TestImages;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** inspect, rm and prune on real image directories (committed by {@link ImageStore}, as a checkpoint does). */
class ImageLifecycleVerbsTest {
    @TempDir
    Path dir;

    private String out;
    private String err;

    private int cryo(String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int status = new Launcher(new PrintStream(o, true, StandardCharsets.UTF_8),
                new PrintStream(e, true, StandardCharsets.UTF_8)).run(args);
        out = o.toString(StandardCharsets.UTF_8);
        err = e.toString(StandardCharsets.UTF_8);
        return status;
    }

    private ImageStore.Image image(String id, String build) throws Exception {
        return TestImages.commit(new ImageStore(dir), TestImages.metadata(id, build));
    }

    private List<String> ids() {
        return new ImageStore(dir).images().stream().map(ImageStore.Image::id).toList();
    }

    @Test
    @DisplayName("inspect: what the image holds, its sizes by part, and that it fits its own build here")
    void inspectOne() throws Exception {
        image("20261202T000001Z-aaaa0001", "k");
        assertEquals(0, cryo("inspect", "--image", dir.toString(), "20261202T000001Z-aaaa0001"), err);
        assertTrue(out.contains("image 20261202T000001Z-aaaa0001"), out);
        assertTrue(out.contains("fits:       yes (its own build on this machine)"), out);
        assertTrue(out.contains("command:    java -cp a b.jar Main"), out);
        assertTrue(out.contains("build key:  k"), out);
        assertTrue(out.contains("criuPages     0.0 MB"), out);
        assertTrue(out.contains("GPU:        none"), out);

        assertEquals(0, cryo("inspect", "--image", dir.toString(), "--json", "20261202T"), err);
        assertTrue(out.startsWith("[\n  {\n    \"id\": \"20261202T000001Z-aaaa0001\""), out);
        assertTrue(out.contains("\"fits\": true"), out);
        assertTrue(out.contains("\"criuPages\": 4096"), out);
        assertTrue(out.contains("\"criuOther\": 3"), out);
        assertTrue(out.contains("\"gpu\": null"), out);
    }

    @Test
    @DisplayName("inspect -- COMMAND: the launcher's own fit rule says why an image of another build does not fit")
    void inspectForCommand() throws Exception {
        image("20261202T000001Z-aaaa0001", "k");
        assertEquals(0, cryo("inspect", "--image", dir.toString(), "--json", "--", "java", "-cp", "x.jar", "Main"), err);
        assertTrue(out.contains("\"fits\": false"), out);
        assertTrue(out.contains("\"fitFor\": \"the command given\""), out);
        assertTrue(out.contains("\"misfit\": \"was made from another build"), out);
    }

    @Test
    @DisplayName("inspect: exit 1 for an unknown id or an empty directory, and a damaged image says why")
    void inspectMissingAndDamaged() throws Exception {
        assertEquals(1, cryo("inspect", "--image", dir.toString()));
        assertTrue(err.contains("no images in"), err);
        ImageStore.Image damaged = image("20261202T000001Z-aaaa0001", "k");
        Files.delete(damaged.dir().resolve("pages-1.img"));
        assertEquals(1, cryo("inspect", "--image", dir.toString(), "nope"));
        assertTrue(err.contains("no image nope in"), err);
        assertEquals(0, cryo("inspect", "--image", dir.toString()));
        assertTrue(out.contains("fits:       no, for its own build on this machine: it cannot be used: pages-1.img is"
                + " missing or unreadable"), out);
    }

    @Test
    @DisplayName("inspect: the restores' timings appended beside the image")
    void inspectRestores() throws Exception {
        ImageStore.Image i = image("20261202T000001Z-aaaa0001", "k");
        StepTimings.appendRestore(i.dir(), "launcher", Map.of("criuRestore", 12));
        assertEquals(0, cryo("inspect", "--image", dir.toString(), "--json"));
        assertTrue(out.contains("\"restores\": [\n      {\"by\":\"launcher\",\"at\":"), out);
        assertTrue(out.contains("\"criuRestore\":12}"), out);
    }

    @Test
    @DisplayName("rm: removes the images named, exit 1 when one is not there, 2 without ids")
    void rm() throws Exception {
        image("20261202T000001Z-aaaa0001", "k");
        image("20261202T000002Z-bbbb0002", "k");
        assertEquals(2, cryo("rm", "--image", dir.toString()));
        assertTrue(err.contains("needs at least one image ID"), err);
        assertEquals(0, cryo("rm", "--image", dir.toString(), "img-20261202T000001Z-aaaa0001"), err);
        assertEquals(List.of("20261202T000002Z-bbbb0002"), ids());
        assertTrue(err.contains("removed image 20261202T000001Z-aaaa0001"), err);
        assertEquals(1, cryo("rm", "--image", dir.toString(), "--json", "20261202T000001Z", "20261202T000002Z"));
        assertEquals(List.of(), ids());
        assertTrue(out.contains("\"removed\": false"), out);
        assertTrue(out.contains("\"removed\": true"), out);
        try (var left = Files.list(dir)) {
            assertEquals(List.of(), left.filter(p -> p.getFileName().toString().startsWith(".tmp-")).toList());
        }
    }

    @Test
    @DisplayName("prune: the newest N per build and runtime stay, damaged images go, then the oldest down to --max-bytes")
    void prune() throws Exception {
        image("20261202T000001Z-aaaa0001", "k");
        image("20261202T000002Z-aaaa0002", "k");
        image("20261202T000003Z-aaaa0003", "k");
        image("20261202T000001Z-bbbb0001", "j");
        ImageStore.Image damaged = image("20261202T000004Z-cccc0004", "k");
        Files.delete(damaged.dir().resolve("inventory.img"));

        assertEquals(0, cryo("prune", "--image", dir.toString(), "--keep", "2"), err);
        assertEquals(List.of("20261202T000003Z-aaaa0003", "20261202T000002Z-aaaa0002", "20261202T000001Z-bbbb0001"),
                ids());
        assertTrue(err.contains("removed image 20261202T000004Z-cccc0004"), err);

        assertEquals(0, cryo("prune", "--image", dir.toString(), "--json"), err);
        assertEquals(List.of("20261202T000003Z-aaaa0003", "20261202T000001Z-bbbb0001"), ids());
        assertTrue(out.contains("\"why\": \"older than the newest 1 of its build and runtime\""), out);

        long one = ImageStore.directoryBytes(new ImageStore(dir).images().get(0).dir());
        assertEquals(0, cryo("prune", "--image", dir.toString(), "--max-bytes", Long.toString(one + 10)), err);
        assertEquals(List.of("20261202T000003Z-aaaa0003"), ids());

        assertEquals(0, cryo("prune", "--image", dir.toString()), err);
        assertEquals(List.of("20261202T000003Z-aaaa0003"), ids());
    }

    @Test
    @DisplayName("prune keeps images of the same build made on another runtime apart")
    void pruneByRuntime() throws Exception {
        image("20261202T000001Z-aaaa0001", "k");
        ImageMetadata other = TestImages.metadata("20261202T000002Z-aaaa0002", "k");
        TestImages.commit(new ImageStore(dir), new ImageMetadata(other.id(), other.created(), other.build(),
                other.process(), java.util.Optional.of(new dev.cryo.internal.RuntimeKey("other cpu", "f", "k", "none",
                        "none")), other.criu(), other.openFiles(), other.storedFiles(), other.gpu(), other.gpuMemory(),
                other.deviceMemory(), other.timings(), other.files(), other.environment(), other.libraries()));
        assertEquals(0, cryo("prune", "--image", dir.toString()), err);
        assertEquals(2, ids().size());
    }

    @ParameterizedTest
    @CsvSource({"1073741824,1073741824", "500M,524288000", "20G,21474836480", "1.5k,1536", "2GiB,2147483648", "0,0"})
    @DisplayName("--max-bytes takes bytes or K, M, G, T")
    void sizes(String text, long bytes) throws Exception {
        assertEquals(bytes, LaunchArguments.size(LaunchArguments.Flag.MAX_BYTES, text));
    }

    @Test
    @DisplayName("--max-bytes and --keep refuse what is not a size or a count")
    void badValues() {
        assertThrows(LaunchArguments.UsageException.class,
                () -> LaunchArguments.size(LaunchArguments.Flag.MAX_BYTES, "lots"));
        assertEquals(2, cryo("prune", "--image", dir.toString(), "--keep", "-1"));
        assertEquals(2, cryo("inspect", "--image", dir.toString(), "--keep", "1"));
        assertTrue(err.contains("cryo inspect does not take --keep"), err);
    }

    @Test
    @DisplayName("Json escapes strings and writes nested maps and lists")
    void json() {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("a", "q\"\n\u0001");
        m.put("b", java.util.Arrays.asList(1, true, null));
        m.put("c", Map.of());
        assertEquals("{\"a\":\"q\\\"\\n\\u0001\",\"b\":[1,true,null],\"c\":{}}", Json.write(m, false));
    }
}
