package dev.cryo.internal;

import dev.cryo.internal.cuda.GpuDevice;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The one rule for "does this image fit here": the launcher restores the newest image that fits,
 * and the app's {@code checkpointNow()} skips its checkpoint when one fits, so an image the
 * launcher refuses is always replaced by the next cold start's checkpoint.
 *
 * <p>An image fits when it is whole, made from this build, on this runtime, its GPU state can go
 * onto the GPUs present (with the user's GPU map), and the files it had open are as CRIU needs
 * them (files it stores are put back, so not checked).
 *
 * @param build    the build of the command being started (its key and, where known, the key's parts)
 * @param runtime  this machine's runtime
 * @param gpus     the GPUs present
 * @param gpuMap   the user's GPU map ({@code --gpu-map}), empty when none
 */
public record ImageFit(BuildKey.Parts build, RuntimeKey runtime, List<GpuDevice> gpus, Map<String, String> gpuMap) {

    /** The rule for {@code build} on this machine now. */
    public static ImageFit here(BuildKey.Parts build, Map<String, String> gpuMap) {
        return new ImageFit(build, RuntimeKey.current(), GpuInventory.present(), gpuMap);
    }

    /**
     * Why {@code image} does not fit, phrased to follow "image ID", or empty when it fits. The
     * first reason found, in the order: damaged, another build, another runtime, GPUs, files.
     */
    public Optional<String> misfit(ImageStore.Image image) {
        Optional<String> defect = image.defect();
        if (defect.isPresent()) {
            return Optional.of("cannot be used: " + defect.get());
        }
        ImageMetadata m = image.metadata();
        Optional<String> stored = StoredFiles.problem(m.storedFiles(), image.dir());
        if (stored.isPresent()) {
            return Optional.of("cannot be used: " + stored.get());
        }
        Optional<String> otherBuild = BuildKey.misfit(m.build(), build);
        if (otherBuild.isPresent()) {
            return Optional.of("was made from another build: " + otherBuild.get());
        }
        Optional<String> other = m.runtime().flatMap(r -> r.misfit(runtime));
        if (other.isPresent()) {
            return Optional.of("is for another machine: " + other.get());
        }
        Optional<String> gpu = GpuInventory.misfit(m.gpu().map(ImageMetadata.Gpu::devices).orElse(List.of()), gpus,
                gpuMap);
        if (gpu.isPresent()) {
            return Optional.of("cannot be restored here: " + gpu.get());
        }
        Optional<String> files = OpenFiles.misfit(m.openFiles(), StoredFiles.paths(m.storedFiles()));
        if (files.isPresent()) {
            return Optional.of("cannot be restored now: " + files.get());
        }
        return Optional.empty();
    }

    /** The newest of {@code images} (newest first, as {@link ImageStore#images()} lists them) that fits. */
    public Optional<ImageStore.Image> newestFitting(List<ImageStore.Image> images) {
        return images.stream().filter(i -> misfit(i).isEmpty()).findFirst();
    }
}
