package dev.cryo.internal.checkpoint;

import dev.cryo.CheckpointOptions;
import dev.cryo.internal.LaunchHandoff;
import java.nio.file.Path;
import java.util.Optional;

/** Decides where snapshots go; the order is documented on {@link CheckpointOptions#imageDirectory()}. */
final class ImageLocation {
    static final String DIRECTORY_PROPERTY = "cryo.image.dir";

    private ImageLocation() {}

    /** Where {@code options} put snapshots; the launcher's {@code --image} ({@code handoff}) wins over the app's own settings. */
    static Path resolve(CheckpointOptions options, Optional<LaunchHandoff> handoff) {
        if (handoff.isPresent()) {
            return handoff.get().imageDirectory();
        }
        String fromEnv = System.getenv(LaunchHandoff.IMAGE_DIR);
        if (options.imageDirectory().isPresent()) {
            return options.imageDirectory().get();
        }
        String fromProperty = System.getProperty(DIRECTORY_PROPERTY);
        if (fromProperty != null && !fromProperty.isBlank()) {
            return Path.of(fromProperty);
        }
        if (fromEnv != null && !fromEnv.isBlank()) {
            return Path.of(fromEnv);
        }
        return Path.of(System.getProperty("user.home"), ".cryo", "images", appName());
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
