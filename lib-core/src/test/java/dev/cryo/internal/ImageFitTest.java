package dev.cryo.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.internal.cuda.GpuDevice;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFitTest {
    private static final GpuDevice H100 = new GpuDevice(0, "NVIDIA H100 80GB HBM3",
            GpuDevice.parseUuid("GPU-341a9345-4265-f847-9deb-7ae559817e0a"), 85017493504L);

    @TempDir
    Path dir;

    private ImageStore store() {
        return new ImageStore(dir.resolve("store"));
    }

    /** The rule for build {@code k} on a machine like this one, without GPUs. */
    private static ImageFit here() {
        return new ImageFit(new BuildKey.Parts("k", Map.of()), RuntimeKey.current(), List.of(), Map.of());
    }

    private static String misfit(ImageFit fit, ImageStore.Image image) {
        return fit.misfit(image).orElse("fits");
    }

    @Test
    @DisplayName("a whole image of this build made here fits")
    void fits() throws Exception {
        ImageStore.Image image = TestImages.commit(store(), TestImages.metadata("a", "k"));
        assertEquals(Optional.empty(), here().misfit(image));
    }

    @Test
    @DisplayName("another environment, an image that records none, or a changed library does not fit; each named")
    void scope() throws Exception {
        ImageMetadata m = TestImages.metadata("a", "k");
        Map<String, String> env = new java.util.HashMap<>(System.getenv());
        env.put("ONLY_HERE", "1");
        ImageFit otherEnv = new ImageFit(m.build(), RuntimeKey.current(), List.of(), Map.of(), List.of(),
                EnvironmentDigest.of(env, EnvironmentDigest.current().ignored()));
        assertTrue(otherEnv.misfit(m).orElseThrow().startsWith("does not fit: environment differs: "),
                () -> otherEnv.misfit(m).get());
        assertEquals("does not fit: environment differs: ONLY_HERE added", otherEnv.misfit(m).orElseThrow());
        ImageMetadata old = new ImageMetadata(m.id(), m.created(), m.build(), m.process(), m.runtime(), m.criu(),
                m.openFiles(), m.storedFiles(), m.gpu(), m.gpuMemory(), m.deviceMemory(), m.timings(), m.files());
        assertEquals("does not fit: it records no environment (made by an older Cryo); the cold start's checkpoint"
                + " replaces it", here().misfit(old).orElseThrow());
        Path lib = Files.write(dir.resolve("libx.so"), new byte[] {1});
        ImageMetadata withLib = new ImageMetadata(m.id(), m.created(), m.build(), m.process(), m.runtime(), m.criu(),
                m.openFiles(), m.storedFiles(), m.gpu(), m.gpuMemory(), m.deviceMemory(), m.timings(), m.files(),
                m.environment(), List.of(new MappedLibraries.Recorded(lib.toString(), 1, 0, "", "0".repeat(64))));
        assertEquals("does not fit: library " + lib + " changed since the checkpoint (same size, other contents)",
                here().misfit(withLib).orElseThrow());
    }

    @Test
    @DisplayName("a damaged image cannot be used, whatever else")
    void damaged() throws Exception {
        ImageStore.Image image = TestImages.commit(store(), TestImages.metadata("a", "other"));
        Files.write(image.dir().resolve("pages-1.img"), new byte[10]);
        assertTrue(misfit(here(), store().images().get(0)).startsWith("cannot be used: pages-1.img is 10 bytes"));
    }

    @Test
    @DisplayName("another build is named as such before any other difference")
    void otherBuild() throws Exception {
        ImageMetadata m = TestImages.withRuntime(TestImages.metadata("a", "other"),
                new RuntimeKey("Other CPU", "ffffffffffffffff", "1.0", "none", "none"));
        assertTrue(misfit(here(), TestImages.commit(store(), m)).startsWith("was made from another build"));
    }

    @Test
    @DisplayName("another CPU or kernel: for another machine")
    void otherRuntime() throws Exception {
        RuntimeKey now = RuntimeKey.current();
        ImageMetadata m = TestImages.withRuntime(TestImages.metadata("a", "k"),
                new RuntimeKey("Other CPU", "ffffffffffffffff", now.kernel(), now.nvidiaDriver(), now.gpuModels()));
        assertTrue(misfit(here(), TestImages.commit(store(), m))
                .startsWith("is for another machine: it was made on a CPU with other features (Other CPU"));
        ImageMetadata k = TestImages.withRuntime(TestImages.metadata("b", "k"),
                new RuntimeKey(now.cpu(), now.cpuFlags(), "1.0.0", now.nvidiaDriver(), now.gpuModels()));
        assertTrue(misfit(here(), TestImages.commit(store(), k)).startsWith("is for another machine: it was made on kernel 1.0.0"));
    }

    @Test
    @DisplayName("GPU state needs GPUs it can go onto, with the user's map")
    void gpus() throws Exception {
        ImageStore.Image image = TestImages.commit(store(), TestImages.withGpu(TestImages.metadata("a", "k"), List.of(H100)));
        assertTrue(misfit(here(), image).startsWith("cannot be restored here: "), misfit(here(), image));
        ImageFit withH100 = new ImageFit(new BuildKey.Parts("k", Map.of()), RuntimeKey.current(), List.of(H100), Map.of());
        assertEquals("fits", misfit(withH100, image));
        ImageFit badMap = new ImageFit(new BuildKey.Parts("k", Map.of()), RuntimeKey.current(), List.of(H100), Map.of("0", "5"));
        assertTrue(misfit(badMap, image).contains("'5'"), misfit(badMap, image));
    }

    @Test
    @DisplayName("an open file gone or of another size: cannot be restored now; a stored one is not checked")
    void files() throws Exception {
        Path data = Files.write(dir.resolve("data.bin"), new byte[100]);
        List<OpenFiles.Recorded> open = List.of(new OpenFiles.Recorded(data.toString(), 100, 0));
        ImageStore.Image image = TestImages.commit(store(),
                TestImages.withFiles(TestImages.metadata("a", "k"), open, List.of()));
        assertEquals("fits", misfit(here(), image));
        Files.write(data, new byte[50]);
        assertTrue(misfit(here(), image).startsWith("cannot be restored now: the app had " + data
                + " open at checkpoint with 100 bytes; it has 50 now"), misfit(here(), image));
        Files.delete(data);
        assertTrue(misfit(here(), image).contains("it is gone now"), misfit(here(), image));

        ImageStore.Image stored = TestImages.commit(store(), TestImages.withFiles(TestImages.metadata("b", "k"), open,
                List.of(new StoredFiles.Stored(data.toString(), 100, 0, "rw-------"))));
        assertTrue(misfit(here(), stored).startsWith("cannot be used: its stored file 0 (" + data + ") has no copy"),
                misfit(here(), stored));
        Files.write(stored.dir().resolve(StoredFiles.copyName(0, data.toString())), new byte[100]);
        assertEquals("fits", misfit(here(), stored), "the launcher puts a stored file back first");
    }

    @Test
    @DisplayName("the newest image that fits is chosen; unfit newer ones are passed over")
    void newest() throws Exception {
        ImageStore store = store();
        TestImages.commit(store, TestImages.metadata("20260101T000000Z-01", "k"));
        TestImages.commit(store, TestImages.metadata("20260102T000000Z-02", "k"));
        TestImages.commit(store, TestImages.metadata("20260103T000000Z-03", "other"));
        assertEquals("20260102T000000Z-02", here().newestFitting(store.images()).orElseThrow().id());
        assertTrue(new ImageFit(new BuildKey.Parts("none", Map.of()), RuntimeKey.current(), List.of(), Map.of()).newestFitting(store.images()).isEmpty());
    }
}
