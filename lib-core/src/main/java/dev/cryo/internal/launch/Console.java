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
    private final boolean terminal;

    Console(PrintStream out, PrintStream err, boolean quiet) {
        this(out, err, quiet, false);
    }

    /** {@code terminal}: whether {@code err} is a terminal, where progress lines may be drawn. */
    Console(PrintStream out, PrintStream err, boolean quiet, boolean terminal) {
        this.out = out;
        this.err = err;
        this.quiet = quiet;
        this.terminal = terminal;
    }

    /** A progress line ({@link ProgressLine}) on stderr when it is a terminal and not quiet; else one that shows nothing. */
    ProgressLine progress(String what, java.util.function.Supplier<java.util.Optional<ProgressLine.Sample>> sampler) {
        return ProgressLine.start(terminal && !quiet ? err : null, what, sampler, ProgressLine.DELAY_MILLIS);
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
