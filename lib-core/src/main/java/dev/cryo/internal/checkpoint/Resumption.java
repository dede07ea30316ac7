package dev.cryo.internal.checkpoint;

import dev.cryo.CheckpointOutcome;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One run of the {@link Done} hooks (an undo, the original going on after its dump, or a restored
 * copy going on): the outcome the process goes on with, the failures collected so far (every hook
 * runs, whatever failed before it), and where hooks record how long they took.
 */
final class Resumption {
    private final CheckpointOutcome outcome;
    private final Map<String, Long> millis;
    private final List<Exception> failures = new ArrayList<>();
    private boolean gpuMemoryLost;

    Resumption(CheckpointOutcome outcome, Map<String, Long> millis) {
        this.outcome = outcome;
        this.millis = millis;
    }

    /** How the process goes on: SKIPPED in an undo, CHECKPOINTED after the dump, RESTORED in a copy. */
    CheckpointOutcome outcome() {
        return outcome;
    }

    /** Collects a hook's failure; an interrupted hook's flag is set again for the caller. */
    void failed(Exception e) {
        if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
        }
        failures.add(e);
    }

    /**
     * The host copy of the GPU memory could not be put back: nothing else holds those bytes, so
     * the GPU state must not be resumed (it would be garbage). Collected as a failure too.
     */
    void gpuMemoryLost(Exception e) {
        gpuMemoryLost = true;
        failed(e);
    }

    /** Whether {@link #gpuMemoryLost} was reported by an earlier hook. */
    boolean isGpuMemoryLost() {
        return gpuMemoryLost;
    }

    /** Records how long the part {@code name}, started at {@code startNanos}, took. */
    void timed(String name, long startNanos) {
        millis.put(name, (System.nanoTime() - startNanos) / 1_000_000);
    }

    /** Records that the part {@code name} took {@code ms} milliseconds. */
    void record(String name, long ms) {
        millis.put(name, ms);
    }

    /** How long the part {@code name} took, as recorded; 0 when not recorded. */
    long millis(String name) {
        return millis.getOrDefault(name, 0L);
    }

    List<Exception> failures() {
        return failures;
    }
}
