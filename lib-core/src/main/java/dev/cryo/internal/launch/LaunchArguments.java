package dev.cryo.internal.launch;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The flags and command given to one verb of {@code bin/cryo}, parsed and checked before anything
 * runs: an unknown flag, a flag the verb does not take, a missing or bad value, an {@code --image}
 * that is a file, or a missing {@code --} is a {@link UsageException} with a one-line message.
 */
record LaunchArguments(Path image, Duration pidWait, String gpuMap, String dumpTimeout, RestoreMode restoreMode,
        boolean quiet, boolean cold, List<String> command, List<String> operands, int keep, long maxBytes, boolean json,
        Duration restoreTimeout) {
    static final Duration DEFAULT_PID_WAIT = Duration.ofSeconds(5);
    static final int DEFAULT_KEEP = 1;
    /** {@code --max-bytes} not given. */
    static final long NO_MAX_BYTES = -1;

    /** Every flag of every verb; each verb says which it takes. */
    enum Flag {
        IMAGE("--image", "DIR", "the image directory (created when missing); required"),
        PID_WAIT("--pid-wait", "SECONDS", "how long to wait for the image's PID to be free (default 5)"),
        GPU_MAP("--gpu-map", "OLD=NEW,...", "put the GPU state on other GPUs of the same model (indexes or UUIDs)"),
        DUMP_TIMEOUT("--dump-timeout", "SECONDS", "the longest the app's CRIU dump may hold it stopped before it is"
                + " ended and the checkpoint fails (default: 10 s per GB of resident memory, at least 60 s)"),
        RESTORE_MODE("--restore-mode", "eager|lazy", "lazy lets the app run at once while CRIU brings its memory in (where"
                + " the kernel allows it); eager brings all of it in first (default: lazy where the image's page faults"
                + " are estimated at " + RestoreMode.LAZY_FROM_MILLIS + " ms or more on this machine, else eager)"),
        RESTORE_TIMEOUT("--restore-timeout", "SECONDS", "the longest a restore may take before it is killed, the image"
                + " marked bad and the app started cold (default: -Dcryo.restore.timeout, else 10 times the image's dump"
                + " time, at least 30 s)"),
        QUIET("--quiet", null, "print none of the launcher's own messages (errors still)"),
        COLD("--cold", null, "start COMMAND cold even when an image fits"),
        KEEP("--keep", "N", "how many of the newest images to keep per build and runtime (default 1)"),
        MAX_BYTES("--max-bytes", "SIZE", "then remove the oldest until all images take at most SIZE (bytes, or with"
                + " K, M, G, T: 500M, 20G)"),
        JSON("--json", null, "print the result as JSON, for tools");

        final String name;
        final String value;
        final String help;

        Flag(String name, String value, String help) {
            this.name = name;
            this.value = value;
            this.help = help;
        }

        /** {@code --name VALUE}, as in a synopsis. */
        String synopsis() {
            return value == null ? name : name + " " + value;
        }

        static Flag named(String name) {
            return Arrays.stream(values()).filter(f -> f.name.equals(name)).findFirst().orElse(null);
        }
    }

    /** A command line that cannot be run: the message is one line that says what to give instead. */
    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    /** {@code args} (after the verb) as {@code verb} takes them. */
    static LaunchArguments parse(Verb verb, String[] args) throws UsageException {
        Path image = null;
        Duration pidWait = DEFAULT_PID_WAIT;
        String gpuMap = null;
        String dumpTimeout = null;
        RestoreMode restoreMode = null;
        Duration restoreTimeout = null; // null: RestoreTimeout decides from the image
        boolean quiet = false;
        boolean cold = false;
        List<String> command = null;
        List<String> operands = new java.util.ArrayList<>(); // before any --: image IDs, a PID
        int keep = DEFAULT_KEEP;
        long maxBytes = NO_MAX_BYTES;
        boolean json = false;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("--")) {
                command = List.of(Arrays.copyOfRange(args, i + 1, args.length));
                break;
            }
            Flag flag = Flag.named(arg);
            if (flag == null && verb.takesOperands() && !arg.startsWith("-")) {
                operands.add(arg);
                continue;
            }
            if (flag == null) {
                throw new UsageException(arg.startsWith("-")
                        ? "unknown flag '" + arg + "' for cryo " + verb.name()
                        : "unexpected '" + arg + "': the app's command goes after -- (" + verb.synopsis() + ")");
            }
            if (!verb.flags().contains(flag)) {
                throw new UsageException("cryo " + verb.name() + " does not take " + flag.name);
            }
            String value = null;
            if (flag.value != null) {
                if (i + 1 >= args.length || args[i + 1].equals("--") || Flag.named(args[i + 1]) != null) {
                    throw new UsageException(flag.name + " needs a value: " + flag.synopsis());
                }
                value = args[++i];
            }
            switch (flag) {
                case IMAGE -> image = imageDirectory(value);
                case PID_WAIT -> pidWait = seconds(flag, value);
                case GPU_MAP -> gpuMap = gpuMap(value);
                case DUMP_TIMEOUT -> dumpTimeout = positiveSeconds(flag, value);
                case RESTORE_MODE -> restoreMode = restoreMode(value);
                case RESTORE_TIMEOUT -> restoreTimeout = Duration.ofMillis(
                        Math.round(Double.parseDouble(positiveSeconds(flag, value)) * 1000));
                case QUIET -> quiet = true;
                case COLD -> cold = true;
                case KEEP -> keep = count(flag, value);
                case MAX_BYTES -> maxBytes = size(flag, value);
                case JSON -> json = true;
            }
        }
        if (image == null && verb.flags().contains(Flag.IMAGE)) {
            throw new UsageException("cryo " + verb.name() + " needs --image DIR");
        }
        if (verb.needsCommand() && command == null) {
            throw new UsageException("missing -- before the app's command: " + verb.synopsis());
        }
        if (verb.needsCommand() && command.isEmpty()) {
            throw new UsageException("no command after --: " + verb.synopsis());
        }
        if (verb.needsOperands() && operands.isEmpty()) {
            throw new UsageException("cryo " + verb.name() + " needs " + verb.operandName() + ": " + verb.synopsis());
        }
        return new LaunchArguments(image, pidWait, gpuMap, dumpTimeout, restoreMode, quiet, cold,
                command == null ? List.of() : command, List.copyOf(operands), keep, maxBytes, json, restoreTimeout);
    }

    private static int count(Flag flag, String value) throws UsageException {
        try {
            int n = Integer.parseInt(value);
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // the message below
        }
        throw new UsageException(flag.name + " needs a whole number from 0 up, not '" + value + "'");
    }

    /** A size in bytes: a number, optionally followed by K, M, G or T (powers of 1024), with or without B. */
    static long size(Flag flag, String value) throws UsageException {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([KMGT]?)(?:i?B)?",
                java.util.regex.Pattern.CASE_INSENSITIVE).matcher(value.trim());
        if (m.matches()) {
            int power = m.group(2).isEmpty() ? 0 : "KMGT".indexOf(m.group(2).toUpperCase(Locale.ROOT)) + 1;
            double bytes = Double.parseDouble(m.group(1)) * Math.pow(1024, power);
            if (bytes < 9e18) {
                return (long) bytes;
            }
        }
        throw new UsageException(flag.name + " needs a size such as 1073741824, 500M or 20G, not '" + value + "'");
    }

    private static Path imageDirectory(String value) throws UsageException {
        if (dev.cryo.internal.RemoteImages.isRemote(value)) {
            return Path.of(value); // a remote store, s3://BUCKET/PREFIX (see FleetImages)
        }
        Path p;
        try {
            p = Path.of(value).toAbsolutePath().normalize();
        } catch (InvalidPathException e) {
            throw new UsageException("--image '" + value + "' is not a valid path: " + e.getReason());
        }
        if (value.isBlank()) {
            throw new UsageException("--image needs a directory, not an empty string");
        }
        if (Files.exists(p) && !Files.isDirectory(p)) {
            throw new UsageException("--image " + value + " is a file, not a directory: give the directory that holds"
                    + " (or will hold) the images");
        }
        return p;
    }

    private static Duration seconds(Flag flag, String value) throws UsageException {
        double s;
        try {
            s = Double.parseDouble(value);
        } catch (NumberFormatException e) {
            s = Double.NaN;
        }
        if (!(s >= 0) || s > 86_400) {
            throw new UsageException(String.format(Locale.ROOT, "%s needs seconds (a number from 0 to 86400, such"
                    + " as 5 or 0.5), not '%s'", flag.name, value));
        }
        return Duration.ofMillis(Math.round(s * 1000));
    }

    /** A time limit: seconds above 0, kept as given (the app reads it). */
    private static String positiveSeconds(Flag flag, String value) throws UsageException {
        double s;
        try {
            s = Double.parseDouble(value);
        } catch (NumberFormatException e) {
            s = Double.NaN;
        }
        if (!(s > 0) || s >= 1e9) {
            throw new UsageException(String.format(Locale.ROOT, "%s needs seconds above 0 (such as 120), not '%s'",
                    flag.name, value));
        }
        return value;
    }

    private static RestoreMode restoreMode(String value) throws UsageException {
        return RestoreMode.parse(value).orElseThrow(
                () -> new UsageException("--restore-mode needs eager or lazy, not '" + value + "'"));
    }

    private static String gpuMap(String value) throws UsageException {
        for (String pair : value.split(",", -1)) {
            String[] kv = pair.trim().split("=", -1);
            if (kv.length != 2 || kv[0].isBlank() || kv[1].isBlank()) {
                throw new UsageException("--gpu-map needs OLD=NEW pairs separated by commas (GPU indexes or UUIDs),"
                        + " such as 0=1, not '" + value + "'");
            }
        }
        return value;
    }
}
