package dev.cryo.internal.checkpoint;

import dev.cryo.CheckpointException;

/**
 * One step of a checkpoint, run by {@link Sequence#run}. Its inputs come through its constructor
 * (values other steps returned), its result is what it returns: steps share no state. A step
 * that fails leaves nothing behind (it undoes its own partial work) and throws; the sequence then
 * undoes the steps before it.
 *
 * @param <D> what it returns: its result, and how to undo or resume it
 */
interface Step<D extends Done> {
    /** Its name in the step timings ({@code step.<name>.millis} in the image, the log's "steps:"). */
    String name();

    /** Does the step. */
    D run() throws CheckpointException;
}
