package dev.cryo.internal.launch;

import java.io.PrintStream;

/**
 * Where the launcher writes: its own messages ({@code cryo: ...}) on stderr unless quiet, errors
 * on stderr always, results (lists, help) on stdout.
 */
final class Console {
    final PrintStream out;
    private final PrintStream err;
    private final boolean quiet;

    Console(PrintStream out, PrintStream err, boolean quiet) {
        this.out = out;
        this.err = err;
        this.quiet = quiet;
    }

    /** A message of the launcher's own, left out with {@code --quiet}. */
    void say(String message) {
        if (!quiet) {
            err.println("cryo: " + message);
        }
    }

    /** An error, printed even with {@code --quiet}. */
    void error(String message) {
        err.println("cryo: " + message);
    }
}
