package dev.cryo.internal.checkpoint;

import dev.cryo.CheckpointException;
import dev.cryo.CheckpointException.Reason;
import dev.cryo.CheckpointOptions;
import dev.cryo.Checkpointer;
import dev.cryo.internal.ImageStore;
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
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CRIU dumps the process into the image's temporary directory and leaves it running. Returns in
 * two processes: the original ({@link DumpResult#DUMPED}) and every copy restored from the image
 * ({@link DumpResult#RESTORED}). On failure CRIU's log is kept beside the store.
 */
record DumpStep(LibCriu criu, ImageStore store, Path tmp, CheckpointOptions options, Failures failures)
        implements Step<DumpStep.Dumped> {
    private static final Logger LOG = LoggerFactory.getLogger(Checkpointer.class);
    static final String LOG_NAME = "dump.log";

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
        DumpResult result;
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
            result = request.dump();
        } catch (CriuException e) {
            throw failures.dump(e, store.keepLog(tmp, LOG_NAME).orElse(null));
        } catch (RuntimeException e) {
            throw failures.of(Reason.DUMP_FAILED, "Checkpoint failed before CRIU could dump: " + e, e);
        }
        reapLibCriuZombies(childrenBefore);
        return new Dumped(result);
    }

    /**
     * libcriu starts CRIU for a self-dump through daemon(): the intermediate process exits and
     * stays our zombie child, and is dumped as one. Left alone it would hold its PID after this
     * process exits, and the restore, which recreates that zombie, fails with "File exists".
     * Reap what appeared during the dump, here and in every restored copy.
     */
    private static void reapLibCriuZombies(Set<Integer> childrenBefore) {
        for (int pid : ProcessFacts.childPids()) {
            if (!childrenBefore.contains(pid) && ProcessFacts.isZombie(pid)) {
                LibC.reapIfExited(pid);
            }
        }
    }

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
            Path aside = perf.get().getParent().resolveSibling(".cryo-hsperfdata-" + perf.get().getFileName());
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
