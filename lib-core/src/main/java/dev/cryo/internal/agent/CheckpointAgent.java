package dev.cryo.internal.agent;

import dev.cryo.CheckpointException;
import dev.cryo.CheckpointOutcome;
import dev.cryo.Checkpointer;
import dev.cryo.RestoreException;
import dev.cryo.internal.Logs;
import java.io.IOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Properties;

/**
 * Cryo's Java agent: makes an app that never calls Cryo checkpoint itself, on a fresh thread.
 *
 * <p>Loaded at start-up ({@code -javaagent:cryo-core-agent.jar[=OPTIONS]}) or into a running JVM by
 * {@code bin/cryo checkpoint PID}. Options, separated by commas: {@code after=SECONDS} (checkpoint
 * that long after start-up), {@code port=N} (checkpoint once TCP port N listens in this process's
 * network namespace; with {@code after}, that long after it listens), and, from the launcher only,
 * {@code reply=DIR}: checkpoint once {@code DIR/go} exists (the launcher has detached, so that no
 * connection to it is left open for CRIU to refuse) and write the outcome to
 * {@code DIR/outcome.properties}. The checkpoint is {@link Checkpointer#checkpointNow()}: the image
 * directory, the resources the app registered and everything else are the app's own.
 */
public final class CheckpointAgent {
    /** Keys of the outcome file the launcher reads. */
    public static final String OUTCOME = "outcome", IMAGE_ID = "image", IMAGE_DIR = "directory", REASON = "reason",
            PAUSE_MS = "pauseMillis";
    /** The outcome file and the launcher's go-ahead, in the reply directory. */
    public static final String OUTCOME_FILE = "outcome.properties", GO_FILE = "go";
    /** Outcomes beside {@link CheckpointOutcome.Kind}'s: no snapshot was taken. */
    public static final String FAILED = "FAILED";
    private static final Duration GO_WAIT = Duration.ofSeconds(60);

    private CheckpointAgent() {}

    /**
     * {@code -javaagent}: arms the trigger the options name, if any.
     *
     * @param options the agent's options, or null
     */
    public static void premain(String options) {
        start(Trigger.parse(options));
    }

    /**
     * Loaded into a running JVM: checkpoints as the options say.
     *
     * @param options the agent's options, or null
     */
    public static void agentmain(String options) {
        start(Trigger.parse(options));
    }

    private static void start(Trigger trigger) {
        if (trigger.isNone()) {
            return; // loaded at start-up only so that bin/cryo checkpoint finds Cryo here
        }
        Thread t = new Thread(() -> run(trigger), "cryo-checkpoint-agent");
        t.setDaemon(true); // a trigger that never fires must not keep the app alive
        t.start();
    }

    private static void run(Trigger trigger) {
        var log = Logs.get(CheckpointAgent.class);
        Properties outcome;
        try {
            String notYet = trigger.await();
            outcome = notYet == null ? checkpoint() : failure(notYet);
        } catch (InterruptedException e) {
            outcome = failure("the agent's thread was interrupted before the checkpoint");
        } catch (RuntimeException | Error e) {
            outcome = failure("the agent failed: " + e);
        }
        if (CheckpointOutcome.Kind.RESTORED.name().equals(outcome.getProperty(OUTCOME))) {
            log.info("Cryo's agent: this process was restored from image {}", outcome.getProperty(IMAGE_ID, "?"));
            return; // the launcher that asked is gone: nobody reads a reply in a restored copy
        }
        log.info("Cryo's agent: checkpoint {}{}", outcome.getProperty(OUTCOME),
                outcome.containsKey(REASON) ? ": " + outcome.getProperty(REASON) : "");
        if (trigger.reply != null) {
            try {
                Path tmp = trigger.reply.resolve(OUTCOME_FILE + ".tmp");
                try (Writer w = Files.newBufferedWriter(tmp)) {
                    outcome.store(w, "Cryo's agent: outcome of a checkpoint asked by bin/cryo checkpoint");
                }
                Files.move(tmp, trigger.reply.resolve(OUTCOME_FILE), StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                log.warn("Cryo's agent could not hand the outcome back to bin/cryo checkpoint in {}: {}",
                        trigger.reply, e.toString());
            }
        }
    }

    /** Checkpoints this process; the outcome as the launcher reads it. */
    private static Properties checkpoint() {
        if (!CheckpointAgent.class.getModule().isNativeAccessEnabled()) {
            return failure("this JVM was started without --enable-native-access=ALL-UNNAMED, which Cryo's calls into"
                    + " libcriu (FFM) need: add it to the app's java command (or to JDK_JAVA_OPTIONS) and start it again");
        }
        try {
            return outcome(Checkpointer.checkpointNow());
        } catch (CheckpointException e) {
            return failure(e.getMessage() + " [" + e.reason() + "]");
        } catch (RestoreException e) {
            Properties p = outcome(e.outcome());
            p.setProperty(REASON, "restored, but " + e.getMessage());
            return p;
        }
    }

    private static Properties outcome(CheckpointOutcome o) {
        Properties p = new Properties();
        p.setProperty(OUTCOME, o.kind().name());
        o.imageId().ifPresent(id -> p.setProperty(IMAGE_ID, id));
        o.image().ifPresent(dir -> p.setProperty(IMAGE_DIR, dir.toString()));
        o.reason().ifPresent(r -> p.setProperty(REASON, r));
        p.setProperty(PAUSE_MS, Long.toString(o.pause().toMillis()));
        return p;
    }

    private static Properties failure(String reason) {
        Properties p = new Properties();
        p.setProperty(OUTCOME, FAILED);
        p.setProperty(REASON, reason);
        return p;
    }

    /** When to checkpoint: the agent's options. */
    record Trigger(Duration after, int port, Path reply) {
        static Trigger parse(String options) {
            Duration after = null;
            int port = -1;
            Path reply = null;
            if (options != null && !options.isBlank()) {
                for (String option : options.split(",")) {
                    String[] kv = option.trim().split("=", 2);
                    String value = kv.length == 2 ? kv[1].trim() : "";
                    try {
                        switch (kv[0].trim()) {
                            case "after" -> after = Duration.ofMillis(Math.round(seconds(value) * 1000));
                            case "port" -> port = port(value);
                            case "reply" -> reply = Path.of(value);
                            default -> throw new IllegalArgumentException("unknown option");
                        }
                    } catch (RuntimeException e) {
                        throw new IllegalArgumentException("Cryo's agent: bad option '" + option + "' in '" + options
                                + "': the options are after=SECONDS and port=N, separated by commas"
                                + " (as in -javaagent:cryo-core-agent.jar=port=8080,after=2)", e);
                    }
                }
            }
            return new Trigger(after, port, reply);
        }

        private static double seconds(String value) {
            double s = Double.parseDouble(value);
            if (!(s >= 0) || s > 86_400) {
                throw new IllegalArgumentException("seconds from 0 to 86400");
            }
            return s;
        }

        private static int port(String value) {
            int p = Integer.parseInt(value);
            if (p < 1 || p > 65_535) {
                throw new IllegalArgumentException("a TCP port from 1 to 65535");
            }
            return p;
        }

        boolean isNone() {
            return after == null && port < 0 && reply == null;
        }

        /** Waits until it is time; returns null, or why the checkpoint will not be taken. */
        String await() throws InterruptedException {
            if (reply != null) {
                long deadline = System.nanoTime() + GO_WAIT.toNanos();
                while (!Files.exists(reply.resolve(GO_FILE))) {
                    if (System.nanoTime() > deadline) {
                        return "bin/cryo checkpoint did not confirm within " + GO_WAIT.toSeconds() + " s that it had"
                                + " detached (no " + reply.resolve(GO_FILE) + ")";
                    }
                    Thread.sleep(5);
                }
            }
            if (port > 0) {
                while (!listening(port)) {
                    Thread.sleep(50);
                }
            }
            if (after != null) {
                Thread.sleep(after.toMillis());
            }
            return null;
        }

        /** Whether a socket listens on TCP {@code port} (read from /proc, no connection made: CRIU would see it). */
        static boolean listening(int port) {
            String local = String.format(Locale.ROOT, ":%04X ", port);
            for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
                try {
                    for (String line : Files.readAllLines(Path.of(table))) {
                        String[] f = line.trim().split("\\s+");
                        // sl local_address rem_address st ...: state 0A is LISTEN
                        if (f.length > 3 && (f[1] + " ").endsWith(local) && f[3].equals("0A")) {
                            return true;
                        }
                    }
                } catch (IOException e) {
                    // no IPv6 table: the other one says
                }
            }
            return false;
        }
    }
}
