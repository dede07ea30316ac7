package dev.cryo.internal.launch;

import dev.cryo.internal.BuildKey;
import dev.cryo.internal.ImageFit;
import dev.cryo.internal.LaunchHandoff;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

/** {@code cryo fetch}: a node warming up downloads the newest published image that fits COMMAND into its cache. */
final class FetchVerb implements Verb {
    @Override
    public String name() {
        return "fetch";
    }

    @Override
    public String synopsis() {
        return "fetch --image s3://BUCKET/PREFIX [--gpu-map OLD=NEW,...] [--quiet] -- COMMAND...";
    }

    @Override
    public String description() {
        return "downloads the newest published image that fits COMMAND into the local cache, ahead of cryo run.";
    }

    @Override
    public Set<LaunchArguments.Flag> flags() {
        return EnumSet.of(LaunchArguments.Flag.IMAGE, LaunchArguments.Flag.GPU_MAP, LaunchArguments.Flag.QUIET);
    }

    @Override
    public boolean needsCommand() {
        return true;
    }

    @Override
    public int run(LaunchArguments args, Console console) {
        Optional<FleetImages> fleet = FleetImages.open(args.image(), console);
        if (fleet.isEmpty()) {
            if (FleetImages.localStore(args.image()).equals(args.image())) {
                console.error("cryo fetch needs a remote store, such as --image s3://BUCKET/PREFIX");
            }
            return 1;
        }
        try (FleetImages f = fleet.get()) {
            BuildKey.Parts build = BuildKey.parts(args.command(), Path.of("").toAbsolutePath());
            return f.fetchFitting(ImageFit.here(build, LaunchHandoff.parseGpuMap(args.gpuMap()), args.command())) ? 0 : 1;
        }
    }
}
