package dev.cryo.internal.checkpoint;

import dev.cryo.Checkpointer;
import dev.cryo.internal.ProcessFacts;
import dev.cryo.internal.os.LibC;
import org.slf4j.Logger;
import dev.cryo.internal.Logs;

/**
 * A full collection before the dump: CRIU copies every resident page, garbage included, and
 * after a full GC the JVM gives free heap back to the OS (JEP 346), so the image holds little
 * more than live data. Smaller images write and restore faster. Nothing to undo.
 */
record CollectGarbageStep() implements Step<Done> {
    private static final Logger LOG = Logs.get(Checkpointer.class);

    @Override
    public String name() {
        return "gc";
    }

    @Override
    public Done run() {
        long before = ProcessFacts.residentBytes();
        System.gc();
        if (!Boolean.getBoolean("cryo.noMallocTrim")) { // the C heap's free memory (JIT, class loading) back too
            LibC.mallocTrim();
        }
        // G1 gives the emptied regions back to the OS in a concurrent task after the collection:
        // wait (up to a second) until resident memory stops falling, so that CRIU dumps live data only.
        long after = ProcessFacts.residentBytes();
        long deadline = System.nanoTime() + 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            sleepQuietly(20);
            long now = ProcessFacts.residentBytes();
            if (now > after - (1L << 20)) {
                after = Math.min(after, now);
                break;
            }
            after = now;
        }
        LOG.info("Collected garbage before the checkpoint: resident memory {} -> {}",
                CheckpointSequence.megabytes(before), CheckpointSequence.megabytes(after));
        return Done.NOTHING;
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
