package dev.cryo.internal.checkpoint;

import dev.cryo.CheckpointOptions;
import dev.cryo.internal.LaunchHandoff;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Decides where snapshots go; the order is documented on {@link CheckpointOptions#imageDirectory()}.
 * There is no implicit default: an app that nobody told where to keep its images writes none
 * (a JVM image is hundreds of MB), and {@code checkpointNow()} returns {@code SKIPPED} with
 * {@link #NOT_CONFIGURED} as its reason. The value {@value #DEFAULT_VALUE} for the property or the
 * variable is the explicit opt-in to {@code ~/.cryo/images/<main class or jar>}.
 */
final class ImageLocation {
    static final String DIRECTORY_PROPERTY = "cryo.image.dir";
    /** As the property's or the variable's value: {@code ~/.cryo/images/<main class or jar>}. */
    static final String DEFAULT_VALUE = "default";
    static final String NOT_CONFIGURED = "no image directory is configured, so no snapshot is written. Start the"
            + " app with bin/cryo run --image DIR -- COMMAND, or set one: CheckpointOptions.imageDirectory(dir),"
            + " -D" + DIRECTORY_PROPERTY + "=DIR or " + LaunchHandoff.IMAGE_DIR + "=DIR (the value '" + DEFAULT_VALUE
            + "' means ~/.cryo/images/<main class or jar>)";

    private ImageLocation() {}

    /** The image store for {@code options}, or empty when none is configured; the launcher's {@code --image} ({@code handoff}) wins over the app's own settings. */
    static Optional<Path> resolve(CheckpointOptions options, Optional<LaunchHandoff> handoff) {
        if (handoff.isPresent()) {
            return Optional.of(handoff.get().imageDirectory());
        }
        String fromEnv = LaunchHandoff.variable(LaunchHandoff.IMAGE_DIR);
        if (options.imageDirectory().isPresent()) {
            return options.imageDirectory();
        }
        String fromProperty = System.getProperty(DIRECTORY_PROPERTY);
        if (fromProperty != null && !fromProperty.isBlank()) {
            return Optional.of(named(fromProperty));
        }
        if (fromEnv != null && !fromEnv.isBlank()) {
            return Optional.of(named(fromEnv));
        }
        return Optional.empty();
    }

    private static Path named(String value) {
        return value.equals(DEFAULT_VALUE) ? Path.of(System.getProperty("user.home"), ".cryo", "images", appName())
                : Path.of(value);
    }

    /** The main class or jar name, made safe as a directory name. */
    static String appName() {
        String command = System.getProperty("sun.java.command", "app").trim();
        String first = command.isEmpty() ? "app" : command.split("\\s+")[0];
        String name = Path.of(first).getFileName().toString();
        if (name.endsWith(".jar")) {
            name = name.substring(0, name.length() - 4);
        }
        return name.replaceAll("[^A-Za-z0-9._-]", "_");
    }
}
