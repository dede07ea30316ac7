package dev.cryo.internal.launch;

import dev.cryo.internal.BuildKey;
import dev.cryo.internal.ImageMetadata;
import dev.cryo.internal.ImageStore;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/** {@code cryo list}: the images in a directory and, given a command, which one fits it. */
final class ListVerb implements Verb {
    @Override
    public String name() {
        return "list";
    }

    @Override
    public String synopsis() {
        return "list --image DIR [-- COMMAND...]";
    }

    @Override
    public String description() {
        return "shows the images in DIR and, given COMMAND, which one fits it.";
    }

    @Override
    public Set<LaunchArguments.Flag> flags() {
        return EnumSet.of(LaunchArguments.Flag.IMAGE);
    }

    @Override
    public boolean needsCommand() {
        return false;
    }

    @Override
    public int run(LaunchArguments args, Console console) {
        Path store = FleetImages.localStore(args.image());
        List<String> command = args.command();
        ImageStore images = new ImageStore(store);
        String key = command.isEmpty() ? null : BuildKey.of(command, Path.of("").toAbsolutePath());
        Optional<String> untrusted = images.untrusted();
        if (untrusted.isPresent()) {
            console.error("refusing " + untrusted.get());
            return 1;
        }
        List<ImageStore.Image> all;
        try {
            all = images.images();
        } catch (java.io.UncheckedIOException e) {
            console.error(e.getMessage() + ": " + e.getCause());
            return 1;
        }
        if (all.isEmpty()) {
            console.error("no images in " + store);
            return 0;
        }
        for (ImageStore.Image image : all) {
            ImageMetadata m = image.metadata();
            String state = image.defect().map(d -> "unusable: " + d)
                    .orElseGet(() -> key == null ? "ok" : key.equals(m.buildKey()) ? "fits" : "other build");
            console.out.printf(Locale.ROOT, "%s  %s  %8.1f MB  pid %s  %s  %s%n", image.id(),
                    m == null ? "?" : m.created(), m == null ? 0.0 : m.imageBytes() / 1e6,
                    m == null ? "?" : m.process().pid(), m == null ? "" : m.process().main(), state);
        }
        return 0;
    }
}
