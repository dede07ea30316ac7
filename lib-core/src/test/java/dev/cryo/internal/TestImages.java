package dev.cryo.internal;

import dev.cryo.internal.cuda.GpuDevice;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Image metadata for unit tests: a plain CPU image of build {@code k}, made on this machine in this environment. */
public final class TestImages {
    private TestImages() {}

    public static ImageMetadata metadata(String id, String buildKey) {
        return new ImageMetadata(id, "2026-12-02T00:00:00Z", new BuildKey.Parts(buildKey, Map.of()),
                new ImageMetadata.Process(4242, List.of("java", "-cp", "a b.jar", "Main"), "/work", "Main", "25",
                        "OpenJDK 64-Bit Server VM 25", "/usr/lib/jvm/25", "amd64", "6.18", 1 << 20, Map.of(0, "pipe:[1]")),
                Optional.of(RuntimeKey.current()), new ImageMetadata.Criu("4.2.1", "/tmp/.tmp-x", false, false, false),
                List.of(), List.of(), Optional.empty(), List.of(), DeviceMemoryFiles.Layout.NONE,
                new ImageMetadata.Timings(0, 0, Map.of()), Map.of(), Optional.of(EnvironmentDigest.current().digests()),
                List.of());
    }

    public static ImageMetadata withGpu(ImageMetadata m, List<GpuDevice> devices) {
        return new ImageMetadata(m.id(), m.created(), m.build(), m.process(), m.runtime(), m.criu(), m.openFiles(),
                m.storedFiles(), Optional.of(new ImageMetadata.Gpu(devices, "13.0", 1, 2, 3)), m.gpuMemory(),
                m.deviceMemory(), m.timings(), m.files(), m.environment(), m.libraries());
    }

    static ImageMetadata withFiles(ImageMetadata m, List<OpenFiles.Recorded> open, List<StoredFiles.Stored> stored) {
        return new ImageMetadata(m.id(), m.created(), m.build(), m.process(), m.runtime(), m.criu(), open, stored,
                m.gpu(), m.gpuMemory(), m.deviceMemory(), m.timings(), m.files(), m.environment(), m.libraries());
    }

    static ImageMetadata withRuntime(ImageMetadata m, RuntimeKey runtime) {
        return new ImageMetadata(m.id(), m.created(), m.build(), m.process(), Optional.of(runtime), m.criu(),
                m.openFiles(), m.storedFiles(), m.gpu(), m.gpuMemory(), m.deviceMemory(), m.timings(), m.files(),
                m.environment(), m.libraries());
    }

    /** Commits {@code m} into {@code store} as an image with a CRIU inventory and one page file. */
    public static ImageStore.Image commit(ImageStore store, ImageMetadata m) throws Exception {
        Path tmp = store.begin(m.id());
        java.nio.file.Files.write(tmp.resolve("inventory.img"), new byte[] {1, 2, 3});
        java.nio.file.Files.write(tmp.resolve("pages-1.img"), new byte[4096]);
        java.nio.file.Files.writeString(tmp.resolve("dump.log"), "log");
        store.commit(tmp, m);
        return store.images().stream().filter(i -> i.id().equals(m.id())).findFirst().orElseThrow();
    }
}
