package dev.cryo.internal.criu;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** CRIU's version numbers ({@code major*10000 + minor*100 + sublevel}, as libcriu counts them): read and written. */
public final class CriuVersion {
    private static final Pattern VERSION = Pattern.compile("Version:\\s*(\\d+)\\.(\\d+)(?:\\.(\\d+))?");

    private CriuVersion() {}

    /**
     * The version of the criu {@code binary}, from {@code criu --version} ("Version: X.Y[.Z]") run as a
     * child the JDK reaps. Not {@code criu_local_get_version}: it leaves its criu child unreaped, and a
     * zombie child dumped with the process breaks its restore.
     */
    public static int of(Path binary) {
        try {
            Process p = new ProcessBuilder(binary.toString(), "--version").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int exit = p.waitFor();
            Matcher m = VERSION.matcher(out);
            if (exit != 0 || !m.find()) {
                throw new CriuUnavailableException(binary + " --version failed (exit " + exit + "): " + out.strip()
                        + ". Check that CRIU runs here: run bin/bootstrap, or set CRYO_CRIU to a working criu.");
            }
            return Integer.parseInt(m.group(1)) * 10000 + Integer.parseInt(m.group(2)) * 100
                    + (m.group(3) == null ? 0 : Integer.parseInt(m.group(3)));
        } catch (IOException e) {
            throw new CriuUnavailableException("Cannot run " + binary + ": " + e.getMessage()
                    + ". Run bin/bootstrap, or set CRYO_CRIU to a working criu binary.", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CriuUnavailableException("Interrupted while asking " + binary + " for its version", e);
        }
    }

    /** Formats a version number as {@code 4.1.1}. */
    public static String format(int version) {
        return (version / 10000) + "." + (version / 100 % 100) + "." + (version % 100);
    }
}
