package dev.cryo.internal.launch;

import dev.cryo.internal.ImageMetadata;
import dev.cryo.internal.criu.CriuLocation;
import dev.cryo.internal.criu.LazyPagesDaemon;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * How the launcher brings an image's memory back: {@code --restore-mode eager|lazy}, else
 * {@code -Dcryo.restore.lazy=true|false}, else {@link #DEFAULT}. Lazy needs the userfaultfd CRIU
 * asks for ({@code criu check --feature uffd-noncoop}); without it, or for an image with GPU
 * state, the restore is eager.
 *
 * <p>The default is eager, by measurement (docs/benchmarks.md, "eager vs lazy restore"): on the
 * 2-core development VM a lazy restore takes about 100 ms less in CRIU, but the restored app then
 * needs about as much longer to its first answer (each first touch of a page is a round trip
 * through the lazy-pages daemon), and all its memory is in later. Lazy pays where first touches are
 * dear: a large image on a machine where faulting memory in is slow (page faults of 11-15 µs, as
 * these VMs had on other days: an eager restore then takes seconds per GB), or a loaded machine.
 */
enum RestoreMode {
    /** CRIU reads every page into memory before the app runs again. */
    EAGER,
    /** The app runs at once; CRIU's lazy-pages daemon serves and then fills in its memory. */
    LAZY;

    /** System property of the launcher's JVM: {@code true} for lazy, {@code false} for eager. */
    static final String PROPERTY = "cryo.restore.lazy";

    /** The mode when neither the flag nor the property says. */
    static final RestoreMode DEFAULT = EAGER;

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
     * not given), else {@value #PROPERTY}, else {@link #DEFAULT}; lazy only where the kernel supports
     * it and the image holds no GPU state. When lazy was asked for explicitly and cannot be had, says why.
     */
    static RestoreMode choose(RestoreMode asked, ImageMetadata image, CriuLocation criu, Consumer<String> say) {
        String property = System.getProperty(PROPERTY);
        boolean explicit = asked != null || property != null;
        RestoreMode wanted = asked != null ? asked
                : property == null ? DEFAULT
                : Boolean.parseBoolean(property) ? LAZY : EAGER;
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
