package dev.cryo.internal.launch;

import dev.cryo.internal.ImageMetadata;
import dev.cryo.internal.criu.CriuLocation;
import dev.cryo.internal.criu.LazyPagesDaemon;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * How the launcher brings an image's memory back. {@link #LAZY} is the default where the kernel
 * has the userfaultfd CRIU needs: measured on the 2-core development VM (docs/benchmarks.md), the
 * restored app answers sooner, because memory is faulted in as it is touched and the rest is
 * copied while the app already runs. {@code --restore-mode eager} or {@code -Dcryo.restore.lazy=false}
 * keeps the eager restore: all pages are in before the app runs again.
 */
enum RestoreMode {
    /** CRIU reads every page into memory before the app runs again. */
    EAGER,
    /** The app runs at once; CRIU's lazy-pages daemon serves and then fills in its memory. */
    LAZY;

    /** System property of the launcher's JVM: {@code false} keeps the eager restore. */
    static final String PROPERTY = "cryo.restore.lazy";

    /** Parses {@code eager} or {@code lazy}. */
    static Optional<RestoreMode> parse(String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "eager" -> Optional.of(EAGER);
            case "lazy" -> Optional.of(LAZY);
            default -> Optional.empty();
        };
    }

    /**
     * The mode for restoring {@code image}: {@code asked} (the {@code --restore-mode} flag, null when
     * not given), else {@value #PROPERTY}, else lazy; lazy only where the kernel supports it and the
     * image holds no GPU state. When lazy was asked for explicitly and cannot be had, says why.
     */
    static RestoreMode choose(RestoreMode asked, ImageMetadata image, CriuLocation criu, Consumer<String> say) {
        String property = System.getProperty(PROPERTY);
        boolean explicit = asked != null || property != null;
        RestoreMode wanted = asked != null ? asked : property == null || Boolean.parseBoolean(property) ? LAZY : EAGER;
        if (wanted == EAGER) {
            return EAGER;
        }
        if (image.gpu().isPresent()) {
            // The CUDA driver's restore reads the app's host memory while CRIU still restores: not lazily.
            if (explicit) {
                say.accept("restoring eagerly: the image holds GPU state, which lazy restore does not handle");
            }
            return EAGER;
        }
        Optional<String> unsupported = LazyPagesDaemon.unsupported(criu);
        if (unsupported.isPresent()) {
            if (explicit) {
                say.accept("restoring eagerly: lazy restore is not possible here: " + unsupported.get());
            }
            return EAGER;
        }
        return LAZY;
    }
}
