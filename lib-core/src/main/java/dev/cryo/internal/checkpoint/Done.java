package dev.cryo.internal.checkpoint;

/**
 * What a {@link Step} that ran leaves behind: how to take it back when a later step fails, and
 * what to do in whichever process goes on after the dump. The hooks of the steps that ran are
 * called last step first; each gets the one {@link Resumption} of that unwind, and what a hook
 * throws is collected there, never stops the others.
 */
interface Done {
    /** A step with nothing to take back or resume. */
    Done NOTHING = new Done() {};

    /** A later step failed, no image was made: put back what this step changed. */
    default void undo(Resumption r) throws Exception {}

    /** In the original process, once the image is complete: go on as before the step. */
    default void afterDump(Resumption r) throws Exception {}

    /** In a process restored from the image. */
    default void afterRestore(Resumption r) throws Exception {}
}
