package dev.cryo.internal.checkpoint;

import dev.cryo.CheckpointException;
import dev.cryo.CheckpointOutcome;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The steps of one checkpoint that ran so far, and the one unwind: when a step fails, the undo of
 * every step that ran before it, last first, each failure suppressed on the one exception (the
 * CRaC JDK's ExceptionHolder does the same); after the dump, each step's {@code afterDump} or
 * {@code afterRestore}, also last first.
 */
final class Sequence {
    private final ApiAccess api;
    private final Deque<Done> done = new ArrayDeque<>(); // last first
    private final Map<String, Long> millis = new LinkedHashMap<>();

    Sequence(ApiAccess api) {
        this.api = api;
    }

    /** Runs {@code step}, timed; when it fails, undoes the steps before it and throws. */
    <D extends Done> D run(Step<D> step) throws CheckpointException {
        long t = System.nanoTime();
        D result;
        try {
            result = step.run();
        } catch (CheckpointException e) {
            throw undo(e, "step " + step.name() + " failed");
        } catch (RuntimeException e) {
            throw undo(e, "step " + step.name() + " failed");
        } catch (Error e) {
            throw undo(e, "step " + step.name() + " failed");
        }
        millis.put(step.name(), (System.nanoTime() - t) / 1_000_000);
        done.push(result);
        return result;
    }

    /** Undoes every step that ran, last first; their failures go on {@code failure}, which is returned. */
    <T extends Throwable> T undo(T failure, String why) {
        Resumption r = each(undoing(api, why), Done::undo);
        done.clear();
        r.failures().forEach(failure::addSuppressed);
        return failure;
    }

    /** The resumption of an undo: the resources hear SKIPPED, with {@code why}. */
    static Resumption undoing(ApiAccess api, String why) {
        return new Resumption(api.outcome(CheckpointOutcome.Kind.SKIPPED, null, null, "checkpoint failed: " + why,
                Duration.ZERO), new LinkedHashMap<>());
    }

    /** In the original process, the image complete: every step's {@code afterDump}, last first. */
    Resumption afterDump(CheckpointOutcome outcome) {
        return each(new Resumption(outcome, millis), Done::afterDump);
    }

    /** In a restored copy: every step's {@code afterRestore}, last first, timed into {@code restoreMillis}. */
    Resumption afterRestore(CheckpointOutcome outcome, Map<String, Long> restoreMillis) {
        return each(new Resumption(outcome, restoreMillis), Done::afterRestore);
    }

    /** One hook of a {@link Done}. */
    private interface Hook {
        void call(Done done, Resumption r) throws Exception;
    }

    /** Calls {@code hook} of every step that ran, last first; a failure is collected, the next still called. */
    private Resumption each(Resumption r, Hook hook) {
        for (Done d : done) {
            try {
                hook.call(d, r);
            } catch (Exception e) {
                r.failed(e);
            }
        }
        return r;
    }

    /** How long each step that ran took, in order (and the after-dump parts once they ran). */
    Map<String, Long> millis() {
        return java.util.Collections.unmodifiableMap(new LinkedHashMap<>(millis));
    }
}
