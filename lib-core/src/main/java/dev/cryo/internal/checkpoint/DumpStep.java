package dev.cryo.internal.checkpoint;

import dev.cryo.CheckpointException;
import dev.cryo.CheckpointException.Reason;
import dev.cryo.CheckpointOptions;
import dev.cryo.Checkpointer;
import dev.cryo.internal.DumpWatcher;
import dev.cryo.internal.ImageStore;
import dev.cryo.internal.LaunchHandoff;
import dev.cryo.internal.Logs;
import dev.cryo.internal.ProcessFacts;
import dev.cryo.internal.criu.CriuException;
import dev.cryo.internal.criu.CriuRequest;
import dev.cryo.internal.criu.CriuRequest.DumpResult;
import dev.cryo.internal.criu.LibCriu;
import dev.cryo.internal.os.LibC;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import org.slf4j.Logger;

/**
 * CRIU dumps the process into the image's temporary directory and leaves it running. Returns in
 * two processes: the original ({@link DumpResult#DUMPED}) and every copy restored from the image
 * ({@link DumpResult#RESTORED}). On failure CRIU's log is kept beside the store.
 */
record DumpStep(LibCriu criu, ImageStore store, Path tmp, CheckpointOptions options, Failures failures)
        implements Step<DumpStep.Dumped> {
    private static final Logger LOG = Logs.get(Checkpointer.class);
    static final String LOG_NAME = "dump.log";
    static final String TIMEOUT_PROPERTY = "cryo.dump.timeout";
    /** Written by the dump watcher into the image directory when it ends CRIU. */
    private static final String WATCHER_MARKER = "dump-watcher.ended";

    /** Which process this is after the dump. */
    record Dumped(DumpResult result) implements Done {}

    @Override
    public String name() {
        return "criuDump";
    }

    @Override
    public Dumped run() throws CheckpointException {
        Set<Integer> childrenBefore = ProcessFacts.childPids();
        long ghostLimit = unlinkPerfData(options.ghostLimitBytes());
        DumpResult result = null;
        TerminalStdio terminal = null;
        DumpWatcher watcher = startWatcher();
        // What a restored copy calls first, bound here: in each copy it would cost tens of ms.
        LibC.prepareRestoredCopyCalls();
        criu.prepareRestoredCopyCalls();
        try (CriuRequest request = criu.newRequest()) {
            request.imagesDirectory(tmp)
                    .log(LOG_NAME, options.criuLogLevel())
                    // Always leave running: the image is finished (metadata, rename) by this process
                    // after CRIU returns; exitAfterCheckpoint exits only once that is done.
                    .leaveRunning(true)
                    .shellJob(true)
                    .tcpEstablished(options.tcpEstablished())
                    .externalUnixSockets(options.externalUnixSockets())
                    .fileLocks(options.fileLocks())
                    .ghostLimit(ghostLimit);
            terminal = TerminalStdio.setAside();
            result = request.dump();
        } catch (CriuException e) {
            // Read before the image directory (which holds the marker) goes.
            OptionalInt ended = watcher == null ? OptionalInt.empty() : watcher.endedCriu();
            Path kept = store.keepLog(tmp, LOG_NAME).orElse(null);
            throw ended.isPresent() ? failures.dumpTimeout(e, watcher.limit(), ended.getAsInt(), kept)
                    : failures.dump(e, kept);
        } catch (RuntimeException e) {
            throw failures.of(Reason.DUMP_FAILED, "Checkpoint failed before CRIU could dump: " + e, e);
        } finally {
            // The watcher ends with the dump, whatever its outcome; a restored copy has none (its
            // pid is another process's there).
            if (watcher != null && result != DumpResult.RESTORED) {
                watcher.close();
            }
            if (terminal != null && result != DumpResult.RESTORED) {
                terminal.takeBack(); // a restored copy takes its launcher's (StdioStep)
            }
            // On every path: a zombie left here would be dumped by the next checkpoint and held by
            // every copy restored from it.
            ProcessFacts.reapZombieChildren(childrenBefore);
        }
        return new Dumped(result);
    }

    /**
     * Starts the watcher that ends CRIU if the dump holds this process longer than its limit (this
     * process cannot: its threads are stopped meanwhile). Without one (no /bin/sh) the dump runs
     * unwatched, with a warning.
     */
    private DumpWatcher startWatcher() {
        Duration limit = dumpLimit();
        try {
            DumpWatcher watcher = DumpWatcher.start(ProcessHandle.current().pid(), limit, tmp.resolve(WATCHER_MARKER));
            LOG.debug("Dump time limit: {} s", limit.toSeconds());
            return watcher;
        } catch (IOException | RuntimeException e) {
            LOG.warn("Could not start the dump watcher ({}): a dump that hangs will hold this process stopped until"
                    + " CRIU is killed by hand", e.toString());
            return null;
        }
    }

    /** The option, else -Dcryo.dump.timeout, else CRYO_DUMP_TIMEOUT (bin/cryo --dump-timeout), else from the size. */
    private Duration dumpLimit() {
        if (options.dumpTimeout().isPresent()) {
            return options.dumpTimeout().get();
        }
        String[][] sources = {{"the system property " + TIMEOUT_PROPERTY, System.getProperty(TIMEOUT_PROPERTY)},
                {"the environment variable " + LaunchHandoff.DUMP_TIMEOUT_ENV, LaunchHandoff.variable(LaunchHandoff.DUMP_TIMEOUT_ENV)}};
        for (String[] source : sources) {
            if (source[1] == null || source[1].isBlank()) {
                continue;
            }
            try {
                double seconds = Double.parseDouble(source[1].trim());
                if (seconds > 0 && seconds < 1e9) {
                    return Duration.ofMillis((long) (seconds * 1000));
                }
            } catch (NumberFormatException e) {
                // said below
            }
            LOG.warn("Ignoring {}='{}': the dump's time limit is a number of seconds above 0", source[0], source[1]);
        }
        return DumpWatcher.defaultLimit(ProcessFacts.residentBytes());
    }

    // libcriu starts CRIU for a self-dump through daemon(): the intermediate process exits and
    // stays our zombie child, and is dumped as one. Left alone it would hold its PID after this
    // process exits, and the restore, which recreates that zombie, fails with "File exists". What
    // appeared during the dump is reaped above, whether it succeeded or failed, here and in every
    // restored copy. (Only those: older zombie children are the app's, whose exit status the JDK's
    // process reaper may still collect.)

    /**
     * The JVM maps its perf-data file, /tmp/hsperfdata_USER/PID, and CRIU reopens a mapped file by
     * its path at restore. But every JVM of that user that starts deletes the files of PIDs not
     * alive, and until the restore is done the PID is not: a restore raced with any JVM start.
     * Unlinked now, the file (32 KB) goes into the image as a CRIU ghost file and comes back with
     * the mapping whatever happens in that directory. The price: jps no longer lists the process.
     * It is moved out of that directory first: CRIU restores the ghost beside the file's last path,
     * and every JVM of that user that starts deletes whatever else it finds there, a ghost in the
     * middle of a restore included ("Couldn't unlink remap ...ghost"). Returns the ghost limit that fits it.
     */
    private static long unlinkPerfData(long ghostLimit) {
        Optional<Path> perf = ProcessFacts.hsperfdataFile().filter(Files::isRegularFile);
        if (perf.isEmpty()) {
            return ghostLimit;
        }
        try {
            long size = Files.size(perf.get());
            Path aside = dev.cryo.internal.PerfDataGhost.aside(perf.get());
            Files.move(perf.get(), aside, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            Files.delete(aside);
            return Math.max(ghostLimit, size + 4096);
        } catch (IOException e) {
            LOG.warn("Could not unlink the JVM's perf-data file {}: a JVM starting while this image is restored"
                    + " may delete it and fail the restore (start the app with -XX:-UsePerfData to avoid the file): {}",
                    perf.get(), e.toString());
            return ghostLimit;
        }
    }
}
