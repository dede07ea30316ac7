package dev.cryo.internal.launch;

import com.sun.tools.attach.AgentInitializationException;
import com.sun.tools.attach.AgentLoadException;
import com.sun.tools.attach.AttachNotSupportedException;
import com.sun.tools.attach.VirtualMachine;
import dev.cryo.internal.agent.CheckpointAgent;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Stream;

/**
 * {@code cryo checkpoint PID}: asks a running JVM to checkpoint itself now. It attaches to the JVM
 * (the JDK's attach mechanism), loads Cryo's agent ({@link CheckpointAgent}) with a reply
 * directory, detaches, says go, and waits for the outcome the agent writes there. The JVM checkpoints
 * with its own settings (its image directory: started through {@code cryo run} or with
 * {@code -Dcryo.image.dir}) and its own resources; it goes on running afterwards, and the next
 * {@code cryo run} of its command restores the image.
 */
final class CheckpointVerb implements Verb {
    static final int CHECKPOINTED = 0, FAILED = 1, SKIPPED = 3;
    // A dump holds the app for at most its dump timeout (10 s per GB, at least 60 s): this is beyond it.
    private static final Duration OUTCOME_WAIT = Duration.ofMinutes(30);

    @Override
    public String name() {
        return "checkpoint";
    }

    @Override
    public String synopsis() {
        return "checkpoint [--quiet] PID";
    }

    @Override
    public String description() {
        return "asks the running JVM PID to checkpoint itself now, through Cryo's agent (no change to the app);\n"
                + "it must have an image directory (started by cryo run, or -Dcryo.image.dir) and native access.";
    }

    @Override
    public Set<LaunchArguments.Flag> flags() {
        return EnumSet.of(LaunchArguments.Flag.QUIET);
    }

    @Override
    public boolean needsCommand() {
        return false;
    }

    @Override
    public boolean takesOperands() {
        return true;
    }

    @Override
    public int run(LaunchArguments args, Console console) {
        if (args.operands().size() != 1 || !args.operands().get(0).matches("[1-9][0-9]{0,9}")) {
            console.error("checkpoint needs the process id of one running JVM, such as cryo checkpoint 4242, not "
                    + (args.operands().isEmpty() ? "nothing" : "'" + String.join(" ", args.operands()) + "'")
                    + " (see cryo --help)");
            return Launcher.USAGE;
        }
        long pid = Long.parseLong(args.operands().get(0));
        Optional<String> notJvm = notAJvm(pid);
        if (notJvm.isPresent()) {
            console.error(notJvm.get());
            return FAILED;
        }
        Path reply = null;
        try {
            reply = Files.createTempDirectory("cryo-checkpoint-");
            Path jar = AgentJar.forThisLauncher();
            Optional<String> notLoaded;
            try {
                notLoaded = Attach.loadAgent(pid, jar, "reply=" + reply);
            } catch (NoClassDefFoundError e) { // a runtime without the jdk.attach module (a jlink'ed one)
                console.error("this Java runtime (" + System.getProperty("java.home") + ") has no jdk.attach module,"
                        + " which cryo checkpoint needs: run bin/cryo with a full JDK (JAVA_HOME)");
                return FAILED;
            }
            if (notLoaded.isPresent()) {
                console.error(notLoaded.get());
                return FAILED;
            }
            Files.createFile(reply.resolve(CheckpointAgent.GO_FILE));
            console.say("asked JVM " + pid + " to checkpoint itself; waiting for its outcome");
            return outcome(pid, reply, console);
        } catch (IOException e) {
            console.error("cannot ask JVM " + pid + " to checkpoint: " + e);
            return FAILED;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            console.error("interrupted while waiting for JVM " + pid + "'s checkpoint; it may still complete");
            return FAILED;
        } finally {
            removeQuietly(reply);
        }
    }

    /** Waits for the agent's outcome file; prints it and returns the exit status that says it. */
    private int outcome(long pid, Path reply, Console console) throws IOException, InterruptedException {
        Path file = reply.resolve(CheckpointAgent.OUTCOME_FILE);
        long deadline = System.nanoTime() + OUTCOME_WAIT.toNanos();
        while (!Files.exists(file)) {
            if (ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true) && !Files.exists(file)) {
                console.error("JVM " + pid + " ended before it said how its checkpoint went; see its own output");
                return FAILED;
            }
            if (System.nanoTime() > deadline) {
                console.error("JVM " + pid + " gave no outcome within " + OUTCOME_WAIT.toMinutes() + " minutes");
                return FAILED;
            }
            Thread.sleep(10);
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        }
        String kind = p.getProperty(CheckpointAgent.OUTCOME, "?");
        String reason = p.getProperty(CheckpointAgent.REASON);
        switch (kind) {
            case "CHECKPOINTED" -> {
                console.out.println("checkpointed JVM " + pid + ": image " + p.getProperty(CheckpointAgent.IMAGE_ID, "?")
                        + " in " + p.getProperty(CheckpointAgent.IMAGE_DIR, "?") + " (app paused "
                        + p.getProperty(CheckpointAgent.PAUSE_MS, "?") + " ms); the next cryo run of its command restores it");
                return CHECKPOINTED;
            }
            case "SKIPPED" -> {
                console.out.println("JVM " + pid + " skipped the checkpoint: " + reason);
                return SKIPPED;
            }
            default -> {
                console.error("JVM " + pid + " could not checkpoint: " + reason);
                return FAILED;
            }
        }
    }

    /** Why {@code pid} is no JVM to attach to, if it is not. (Attaching sends SIGQUIT, which ends most other processes.) */
    static Optional<String> notAJvm(long pid) {
        if (pid == ProcessHandle.current().pid()) {
            return Optional.of("process " + pid + " is this launcher itself: give the app's JVM");
        }
        Path proc = Path.of("/proc", Long.toString(pid));
        if (!Files.isDirectory(proc)) {
            return Optional.of("no process " + pid + " is running here: give the pid of a running JVM (jps lists them)");
        }
        String name = ProcessHandle.of(pid).flatMap(p -> p.info().command()).orElse("?");
        try (Stream<String> maps = Files.lines(proc.resolve("maps"))) {
            if (maps.anyMatch(line -> line.endsWith("/libjvm.so"))) {
                return Optional.empty();
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            return Optional.of("cannot read the memory map of process " + pid + " (" + e.getMessage() + "): run as its"
                    + " user or as root");
        }
        return Optional.of("process " + pid + " (" + name + ") is not a Java VM: give the pid of the app's JVM"
                + " (jps lists them; under cryo run it is the launcher's child)");
    }

    private static void removeQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary directory left behind is harmless
        }
    }

    /**
     * The attach calls, in a class of their own: only it names jdk.attach's types, so the launcher
     * (every verb) runs on a runtime without that module, and only this verb needs it.
     */
    private static final class Attach {
        /** Loads {@code jar} into JVM {@code pid}; empty when done, else what went wrong, in words. */
        static Optional<String> loadAgent(long pid, Path jar, String options) {
            try {
                VirtualMachine vm = VirtualMachine.attach(Long.toString(pid));
                try {
                    vm.loadAgent(jar.toString(), options);
                } finally {
                    vm.detach(); // before the go: CRIU refuses a connection to a process outside the dump
                }
                return Optional.empty();
            } catch (AttachNotSupportedException | IOException e) {
                return Optional.of("cannot attach to JVM " + pid + ": " + e.getMessage() + ". It must run as this user,"
                        + " on this machine, and allow attaching (no -XX:+DisableAttachMechanism).");
            } catch (AgentLoadException | AgentInitializationException e) {
                return Optional.of("JVM " + pid + " could not load Cryo's agent: " + e + (e.getCause() == null ? ""
                        : " (" + e.getCause() + ")") + ". See the JVM's own output for the agent's error.");
            }
        }
    }
}
