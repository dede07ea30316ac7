package dev.cryo.internal.checkpoint;

import dev.cryo.CheckpointOptions;
import java.nio.file.Path;

/** Decides where snapshots go; the order is documented on {@link CheckpointOptions#imageDirectory()}. */
final class ImageLocation {
    /** Set by bin/cryo for the app it starts: its {@code --image} wins over the app's own settings. */
    static final String LAUNCHER_ENV = "CRYO_LAUNCHER";
    static final String DIRECTORY_ENV = "CRYO_IMAGE_DIR";
    static final String DIRECTORY_PROPERTY = "cryo.image.dir";

    private ImageLocation() {}

    static Path resolve(CheckpointOptions options) {
        String fromEnv = System.getenv(DIRECTORY_ENV);
        if (System.getenv(LAUNCHER_ENV) != null && fromEnv != null && !fromEnv.isBlank()) {
            return Path.of(fromEnv);
        }
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
