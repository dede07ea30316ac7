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
 * <p>An image fits when it is whole, made from this build, in the same environment (a restored
 * process keeps the one it had: {@link EnvironmentDigest}), on this runtime, its GPU state can go
 * onto the GPUs present (with the user's GPU map), the libraries it mapped have the contents they
 * had ({@link MappedLibraries}), and the files it had open are as CRIU needs them (files it stores
 * are put back, so not checked). An image that records no environment (made by a Cryo before it
 * did) does not fit: nothing shows that its environment is this start's, and the cold start's
 * checkpoint replaces it.
 *
 * @param build    the build of the command being started (its key and, where known, the key's parts)
 * @param runtime  this machine's runtime
 * @param gpus     the GPUs present
 * @param gpuMap   the user's GPU map ({@code --gpu-map}), empty when none
 * @param command  the command being started, compared with the image's when both run {@code java}
 *                 directly (a start script's command says nothing of the JVM it runs); empty: not compared
 * @param environment the environment the start gives the app (the launcher's own, which its cold start passes on)
 */
public record ImageFit(BuildKey.Parts build, RuntimeKey runtime, List<GpuDevice> gpus, Map<String, String> gpuMap,
        List<String> command, EnvironmentDigest environment) {

    public ImageFit {
        command = List.copyOf(command);
    }

    /** A rule that does not compare commands, in this process's environment. */
    public ImageFit(BuildKey.Parts build, RuntimeKey runtime, List<GpuDevice> gpus, Map<String, String> gpuMap) {
        this(build, runtime, gpus, gpuMap, List.of(), EnvironmentDigest.current());
    }

    /** The rule for {@code build}, started as {@code command}, on this machine now, in this process's environment. */
    public static ImageFit here(BuildKey.Parts build, Map<String, String> gpuMap, List<String> command) {
        return new ImageFit(build, RuntimeKey.current(), GpuInventory.present(), gpuMap, command,
                EnvironmentDigest.current());
    }

    /**
     * Why {@code image}'s process is another program than {@code command} starts, or empty. The
     * build key alone does not say it: a key handed down to a JVM the app started (an inherited
     * environment) would label that JVM's image with the app's key.
     */
    static Optional<String> otherProgram(List<String> command, ImageMetadata.Process process) {
        if (!runsJava(command) || !runsJava(process.command())) {
            return Optional.empty();
        }
        String wanted = mainOf(command);
        String had = mainOf(process.command());
        if (!wanted.equals(had)) {
            return Optional.of("its process ran " + had + ", this start runs " + wanted);
        }
        if (!command.subList(1, command.size()).equals(process.command().subList(1, process.command().size()))) {
            return Optional.of("its process ran the command line " + String.join(" ", process.command()));
        }
        return Optional.empty();
    }

    private static boolean runsJava(List<String> command) {
        return !command.isEmpty() && java.nio.file.Path.of(command.get(0)).getFileName().toString().equals("java");
    }

    /** The main class, {@code -jar} file or {@code -m} module of a java command line. */
    static String mainOf(List<String> command) {
        for (int i = 1; i < command.size(); i++) {
            String a = command.get(i);
            switch (a) {
                case "-jar", "-m", "--module" -> {
                    return i + 1 < command.size() ? a + " " + command.get(i + 1) : a;
                }
                case "-cp", "-classpath", "--class-path", "-p", "--module-path", "--add-modules", "--add-opens",
                        "--add-exports", "--add-reads", "--enable-native-access", "--limit-modules" -> i++;
                default -> {
                    if (a.startsWith("--module=")) {
                        return "-m " + a.substring("--module=".length());
                    }
                    if (!a.startsWith("-")) {
                        return a;
                    }
                }
            }
        }
        return "?";
    }

    /**
     * Why {@code image} does not fit, phrased to follow "image ID", or empty when it fits. The
     * first reason found, in the order: damaged, stored files, another build, another program
     * (under the same key), environment, another runtime, GPUs, libraries, files.
     */
    public Optional<String> misfit(ImageStore.Image image) {
        Optional<String> defect = image.defect();
        if (defect.isPresent()) {
            return Optional.of("cannot be used: " + defect.get());
        }
        Optional<String> stored = StoredFiles.problem(image.metadata().storedFiles(), image.dir());
        if (stored.isPresent()) {
            return Optional.of("cannot be used: " + stored.get());
        }
        return misfit(image.metadata());
    }

    /** Why an image with metadata {@code m} (whole, or published whole) does not fit, or empty when it fits. */
    public Optional<String> misfit(ImageMetadata m) {
        Optional<String> otherBuild = BuildKey.misfit(m.build(), build);
        if (otherBuild.isPresent()) {
            return Optional.of("was made from another build: " + otherBuild.get());
        }
        Optional<String> program = otherProgram(command, m.process());
        if (program.isPresent()) {
            return Optional.of("was made from another program: " + program.get());
        }
        if (m.environment().isEmpty()) {
            return Optional.of("does not fit: it records no environment (made by an older Cryo); the cold start's"
                    + " checkpoint replaces it");
        }
        Optional<String> env = environment.misfit(m.environment().get());
        if (env.isPresent()) {
            return Optional.of("does not fit: environment differs: " + env.get());
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
        Optional<String> libraries = MappedLibraries.misfit(m.libraries());
        if (libraries.isPresent()) {
            return Optional.of("does not fit: " + libraries.get());
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
