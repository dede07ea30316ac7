package dev.cryo.internal.launch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Cryo is compiled for Java 22 (FFM is final there): an app started on an older JDK would fail
 * with an UnsupportedClassVersionError at its first call. The launcher says so before starting it.
 */
final class JavaVersionCheck {
    static final int MINIMUM = 22;
    private static final Pattern VERSION = Pattern.compile("JAVA_VERSION=\"(\\d+)");

    private JavaVersionCheck() {}

    /** Why {@code command}'s JDK cannot run Cryo, or empty when it can or is not a java command. */
    static Optional<String> problem(List<String> command) {
        String program = command.get(0);
        if (!Path.of(program).getFileName().toString().equals("java")) {
            return Optional.empty();
        }
        Path exe = dev.cryo.internal.BuildKey.resolveOnPath(program);
        if (exe == null) {
            return Optional.empty();
        }
        try {
            Path home = exe.toRealPath().getParent().getParent();
            Path release = home.resolve("release");
            if (!Files.isRegularFile(release)) {
                return Optional.empty();
            }
            Matcher m = VERSION.matcher(Files.readString(release));
            if (m.find()) {
                int feature = Integer.parseInt(m.group(1));
                if (feature == 1) {
                    feature = 8; // "1.8.0_..."
                }
                if (feature < MINIMUM) {
                    return Optional.of(program + " is Java " + feature + " (" + home + "); Cryo needs Java " + MINIMUM
                            + " or newer, where the Foreign Function & Memory API is final. Start the app with a"
                            + " newer JDK (bin/bootstrap finds one and prints its path; on Debian/Ubuntu also"
                            + " openjdk-25-jdk or Temurin 25).");
                }
            }
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }
}
