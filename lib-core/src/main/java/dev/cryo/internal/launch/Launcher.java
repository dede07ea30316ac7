package dev.cryo.internal.launch;

import dev.cryo.internal.ProcessFacts;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * {@code bin/cryo}: picks the verb, has its flags parsed and checked, and runs it.
 *
 * <pre>
 * cryo run --image DIR [--pid-wait SECONDS] [--gpu-map OLD=NEW,...] [--quiet] [--cold] -- COMMAND...
 * cryo list --image DIR [-- COMMAND...]
 * cryo inspect --image DIR [ID...] [--json] [-- COMMAND...]
 * cryo rm --image DIR ID...
 * cryo prune --image DIR [--keep N] [--max-bytes SIZE] [--json]
 * cryo checkpoint [--quiet] PID
 * cryo --help
 * </pre>
 *
 * A command line that cannot be run (an unknown verb or flag, a bad value, {@code --image} naming a
 * file, a missing {@code --}) is one line on stderr and exit status {@value #USAGE}, before
 * anything runs. Each verb is a {@link Verb}; {@link RunVerb} says what {@code run} does.
 */
public final class Launcher {
    static final int USAGE = 2;
    static final long START_NANOS = System.nanoTime();
    /** Set by bin/cryo: when it handed over to this JVM, bash's $EPOCHREALTIME (seconds, 6 decimals). */
    static final String EXEC_PROPERTY = "cryo.launcher.execEpochMicros";
    private static final long MAIN_EPOCH_MILLIS = System.currentTimeMillis();
    private static final long PROCESS_START_EPOCH_MILLIS = ProcessFacts.startEpochMillis();
    private static final long EXEC_EPOCH_MILLIS = execEpochMillis(System.getProperty(EXEC_PROPERTY));
    /**
     * How long bin/cryo's bash took before it started this JVM (the process is the same: exec), 0
     * when not started by bin/cryo.
     */
    static final long WRAPPER_MILLIS = EXEC_EPOCH_MILLIS > 0 ? Math.max(0, EXEC_EPOCH_MILLIS - PROCESS_START_EPOCH_MILLIS) : 0;
    /** How long the JVM took to reach the launcher (not counted in START_NANOS), bin/cryo's bash excluded. */
    static final long JVM_UPTIME_AT_MAIN = MAIN_EPOCH_MILLIS - PROCESS_START_EPOCH_MILLIS - WRAPPER_MILLIS;

    private final PrintStream out;
    private final PrintStream err;
    private final boolean terminal; // err is a terminal: progress lines are drawn there

    Launcher(PrintStream out, PrintStream err) {
        this(out, err, false);
    }

    Launcher(PrintStream out, PrintStream err, boolean terminal) {
        this.out = out;
        this.err = err;
        this.terminal = terminal;
    }

    public static void main(String[] args) {
        System.exit(new Launcher(System.out, System.err, ProgressLine.stderrIsTerminal()).run(args));
    }

    /** {@code value} of {@link #EXEC_PROPERTY} in epoch milliseconds; 0 when missing or not a time. */
    static long execEpochMillis(String value) {
        if (value == null) {
            return 0;
        }
        String digits = value.replaceAll("[^0-9]", ""); // "1764686400.123456", the decimal point per locale
        if (digits.length() < 4 || digits.length() > 18) {
            return 0;
        }
        return Long.parseLong(digits) / 1000;
    }

    /** The verbs, new for each run (a verb may keep state while it runs). */
    static List<Verb> verbs() {
        return List.of(new RunVerb(), new ListVerb(), new InspectVerb(), new RmVerb(), new PruneVerb(),
                new CheckpointVerb(), new FetchVerb());
    }

    int run(String[] args) {
        if (args.length == 0) {
            err.print(help());
            return USAGE;
        }
        if (isHelp(args[0]) || args[0].equals("help")) {
            out.print(help());
            return 0;
        }
        Optional<Verb> verb = verbs().stream().filter(v -> v.name().equals(args[0])).findFirst();
        if (verb.isEmpty()) {
            return usageError("unknown command '" + args[0] + "'; the commands are "
                    + String.join(", ", verbs().stream().map(Verb::name).toList()));
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        for (String arg : rest) {
            if (arg.equals("--")) {
                break;
            }
            if (isHelp(arg)) {
                out.print(help());
                return 0;
            }
        }
        LaunchArguments parsed;
        try {
            parsed = LaunchArguments.parse(verb.get(), rest);
        } catch (LaunchArguments.UsageException e) {
            return usageError(e.getMessage());
        }
        return verb.get().run(parsed, new Console(out, err, parsed.quiet(), terminal));
    }

    private static boolean isHelp(String arg) {
        return arg.equals("--help") || arg.equals("-h");
    }

    private int usageError(String problem) {
        err.println("cryo: " + problem + " (see cryo --help)");
        return USAGE;
    }

    /** The usage lines of every verb, what each does, and every flag. */
    static String help() {
        StringBuilder b = new StringBuilder();
        String lead = "usage: ";
        for (Verb v : verbs()) {
            b.append(lead).append("cryo ").append(v.synopsis()).append('\n');
            lead = "       ";
        }
        b.append(lead).append("cryo --help\n");
        for (Verb v : verbs()) {
            String[] lines = v.description().split("\n");
            for (int i = 0; i < lines.length; i++) {
                b.append(String.format(Locale.ROOT, "  %-11s%s%n", i == 0 ? v.name() : "", lines[i]));
            }
        }
        b.append("flags:\n");
        // One column as wide as the longest flag, so that no flag runs into its verbs.
        String column = "  %-" + (2 + java.util.Arrays.stream(LaunchArguments.Flag.values())
                .mapToInt(f -> f.synopsis().length()).max().orElse(0)) + "s%s%n";
        for (LaunchArguments.Flag f : LaunchArguments.Flag.values()) {
            List<String> takers = verbs().stream().filter(v -> v.flags().contains(f)).map(Verb::name).toList();
            b.append(String.format(Locale.ROOT, column, f.synopsis(), String.join(", ", takers) + ": " + f.help));
        }
        b.append(String.format(Locale.ROOT, column, "--help", "this text"));
        b.append("Environment: CRYO_HOME (default ~/.cryo), CRYO_CRIU and CRYO_CRIU_LIB (the CRIU to use),\n"
                + "CRYO_NO_AOT=1 (bin/cryo starts without its AOT cache), CRYO_ENV_IGNORE=NAME,PREFIX*,...\n"
                + "(variables an image need not match; per-start ones such as PWD, SHLVL, TERM, SSH_* and\n"
                + "CRYO_* are left out always); for --image s3://BUCKET/PREFIX:\n"
                + "AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (README: A fleet).\n");
        b.append("Exit status: the app's own (run); 0 done, 1 an image not found or not removed (inspect, rm,\n"
                + "prune); checkpoint: 0 checkpointed, 3 skipped, 1 failed; 2 for a command line that cannot be run.\n");
        return b.toString();
    }
}
