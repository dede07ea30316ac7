package dev.cryo.internal.launch;

import dev.cryo.internal.ImageMetadata;
import dev.cryo.internal.criu.CriuLocation;
import dev.cryo.internal.criu.LazyPagesDaemon;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * How the launcher brings an image's memory back: {@code --restore-mode eager|lazy}, else
 * {@code -Dcryo.restore.lazy=true|false}, else chosen by what the eager restore's page faults would
 * cost here. Lazy needs the userfaultfd CRIU asks for ({@code criu check --feature uffd-noncoop});
 * without it, or for an image with GPU state, the restore is eager.
 *
 * <p>The choice, by measurement (docs/benchmarks.md, "eager vs lazy restore"): an eager restore
 * faults every page of the image into fresh memory, a lazy one lets the app run at once but pays a
 * round trip through the lazy-pages daemon for each page it touches before the daemon has copied it
 * (about 2,400 before the demo's first answer) and has the daemon compete with the app for the
 * cores. Measured on the 2-core development VMs, to the first answer: at 1.25 µs per page fault (a
 * 123 MB image, 38 ms of faults) eager 246 ms, lazy 278; at 1.65 µs (242 MB, 97 ms) eager 435, lazy
 * 478; at 14 µs (123 and 137 MB, 426 and 475 ms) eager 842 and 843, lazy 726 and 621. So lazy where
 * the image's pages times the fault cost measured now ({@link PageFaultCost}) reach
 * {@value #LAZY_FROM_MILLIS} ms, between the two sides' points.
 */
enum RestoreMode {
    /** CRIU reads every page into memory before the app runs again. */
    EAGER,
    /** The app runs at once; CRIU's lazy-pages daemon serves and then fills in its memory. */
    LAZY;

    /** System property of the launcher's JVM: {@code true} for lazy, {@code false} for eager. */
    static final String PROPERTY = "cryo.restore.lazy";

    /** Estimated page-fault time of an eager restore from which a lazy one answers sooner. */
    static final long LAZY_FROM_MILLIS = 200;

    /**
     * A mode and why: {@code basis} is {@code flag}, {@code property}, {@code gpu} or
     * {@code unsupported} (eager, lazy not possible), or {@code pageFaults} (chosen by
     * {@code faultMillis}, the estimated page-fault time of an eager restore; -1 when not estimated).
     */
    record Choice(RestoreMode mode, String basis, long faultMillis) {
        /**
         * The fields of the launcher's timing line that say how the memory came back: {@code used}
         * is the mode restored with, which differs from the chosen one where lazy failed to start.
         */
        String timing(RestoreMode used) {
            return "mode=" + used.name().toLowerCase(Locale.ROOT) + " modeBasis=" + basisOf(used)
                    + (faultMillis >= 0 ? " faultMs=" + faultMillis : "");
        }

        /** Why {@code used} was restored with: the choice's basis, or {@code fallback} where lazy failed to start. */
        String basisOf(RestoreMode used) {
            return used == mode ? basis : "fallback";
        }
    }

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
     * not given), else {@value #PROPERTY}, else {@link #byPageFaults}; lazy only where the kernel
     * supports it and the image holds no GPU state. When lazy was asked for explicitly and cannot be
     * had, says why.
     */
    static Choice choose(RestoreMode asked, ImageMetadata image, CriuLocation criu, Consumer<String> say) {
        String property = System.getProperty(PROPERTY);
        RestoreMode wanted = asked != null ? asked
                : property == null ? null // not said: chosen below
                : Boolean.parseBoolean(property) ? LAZY : EAGER;
        boolean explicit = wanted != null;
        String basis = asked != null ? "flag" : "property";
        if (wanted == EAGER) {
            return new Choice(EAGER, basis, -1);
        }
        if (image.gpu().isPresent()) {
            // The CUDA driver's restore reads the app's host memory while CRIU still restores: not lazily.
            if (explicit) {
                say.accept("restoring eagerly: the image holds GPU state, which lazy restore does not handle");
            }
            return new Choice(EAGER, "gpu", -1);
        }
        Optional<String> unsupported = LazyPagesDaemon.unsupported(criu);
        if (unsupported.isPresent()) {
            if (explicit) {
                say.accept("restoring eagerly: lazy restore is not possible here: " + unsupported.get());
            }
            return new Choice(EAGER, "unsupported", -1);
        }
        if (explicit) {
            return new Choice(LAZY, basis, -1);
        }
        long faultMillis = PageFaultCost.millisFor(image.imageBytes());
        return new Choice(byPageFaults(faultMillis), "pageFaults", faultMillis);
    }

    /** Lazy when an eager restore's page faults are estimated at {@value #LAZY_FROM_MILLIS} ms or more. */
    static RestoreMode byPageFaults(long faultMillis) {
        return faultMillis >= LAZY_FROM_MILLIS ? LAZY : EAGER;
    }
}
