package dev.cryo.internal.criu;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where libcriu and the criu binary it starts (in "swrk" mode) are found. Order: explicit setting
 * (system properties {@code cryo.criu.lib}, {@code cryo.criu.binary}), environment
 * ({@code CRYO_CRIU_LIB}, {@code CRYO_CRIU}), the prefix {@code bin/bootstrap} installs
 * ({@code $CRYO_HOME/criu}, default {@code ~/.cryo/criu}), then the system.
 *
 * @param library path of libcriu.so.2, or a bare soname for the system's dynamic linker
 * @param binary  the criu executable (or wrapper) libcriu starts
 * @param source  where the two came from, for messages
 */
public record CriuLocation(String library, Path binary, String source) {

    static final String SONAME = "libcriu.so.2";

    /** Resolves the location, or explains every place it looked. */
    public static CriuLocation resolve(String explicitLibrary, String explicitBinary) {
        List<String> looked = new ArrayList<>();
        String lib = firstNonBlank(explicitLibrary, System.getProperty("cryo.criu.lib"), System.getenv("CRYO_CRIU_LIB"));
        String bin = firstNonBlank(explicitBinary, System.getProperty("cryo.criu.binary"), System.getenv("CRYO_CRIU"));
        if (lib != null || bin != null) {
            Path prefix = bootstrapPrefix();
            String l = lib != null ? lib : prefixOrSystemLibrary(prefix);
            Path b = bin != null ? Path.of(bin) : prefixOrSystemBinary(prefix, looked);
            return checked(l, b, "explicit setting (cryo.criu.* / CRYO_CRIU*)", looked);
        }
        Path prefix = bootstrapPrefix();
        Path prefixLib = prefix.resolve("lib").resolve(SONAME);
        Path prefixBin = prefix.resolve("criu");
        looked.add(prefixLib + " and " + prefixBin + " (bin/bootstrap's prefix)");
        if (Files.isRegularFile(prefixLib) && Files.isExecutable(prefixBin)) {
            return new CriuLocation(prefixLib.toString(), prefixBin, "bootstrap prefix " + prefix);
        }
        Path systemBin = systemBinary(looked);
        return checked(SONAME, systemBin, "system", looked);
    }

    private static CriuLocation checked(String lib, Path bin, String source, List<String> looked) {
        if (bin == null || !Files.isExecutable(bin)) {
            throw new CriuUnavailableException("CRIU not found: looked at " + String.join(", ", looked)
                    + (bin != null ? ", " + bin : "") + ". Install CRIU 4.0 or newer: run bin/bootstrap from the Cryo"
                    + " checkout (it installs a private CRIU into ~/.cryo/criu), or set CRYO_CRIU to the criu"
                    + " binary and CRYO_CRIU_LIB to libcriu.so.2.");
        }
        if (lib.contains("/") && !Files.isRegularFile(Path.of(lib))) {
            throw new CriuUnavailableException("libcriu not found at " + lib + " (" + source + "). Run bin/bootstrap,"
                    + " or set CRYO_CRIU_LIB (system property cryo.criu.lib) to the path of libcriu.so.2.");
        }
        return new CriuLocation(lib, bin, source);
    }

    static Path bootstrapPrefix() {
        return cryoHome().resolve("criu");
    }

    /** Cryo's own directory on this machine: {@code $CRYO_HOME}, default {@code ~/.cryo} (bin/env.sh's rule). */
    public static Path cryoHome() {
        String home = firstNonBlank(System.getenv("CRYO_HOME"), null, null);
        return home != null ? Path.of(home) : Path.of(System.getProperty("user.home"), ".cryo");
    }

    private static String prefixOrSystemLibrary(Path prefix) {
        Path p = prefix.resolve("lib").resolve(SONAME);
        return Files.isRegularFile(p) ? p.toString() : SONAME;
    }

    private static Path prefixOrSystemBinary(Path prefix, List<String> looked) {
        Path p = prefix.resolve("criu");
        looked.add(p.toString());
        return Files.isExecutable(p) ? p : systemBinary(looked);
    }

    private static Path systemBinary(List<String> looked) {
        List<Path> candidates = new ArrayList<>();
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(":")) {
                if (!dir.isEmpty()) {
                    candidates.add(Path.of(dir, "criu"));
                }
            }
        }
        candidates.add(Path.of("/usr/sbin/criu"));
        candidates.add(Path.of("/usr/local/sbin/criu"));
        looked.add("criu on PATH, /usr/sbin, /usr/local/sbin");
        return candidates.stream().filter(Files::isExecutable).findFirst().orElse(null);
    }

    private static String firstNonBlank(String a, String b, String c) {
        for (String s : new String[] {a, b, c}) {
            if (s != null && !s.isBlank()) {
                return s;
            }
        }
        return null;
    }
}
