package dev.cryo.s3.app;

import dev.cryo.CheckpointOutcome;
import dev.cryo.Checkpointer;

/** The app a fleet runs in the end-to-end test: state that takes work to build, one checkpoint, then proof of the state. */
public final class FleetApp {
    public static void main(String[] args) throws Exception {
        long[] table = new long[4_000_000];
        long x = 0x9E3779B97F4A7C15L;
        for (int i = 0; i < table.length; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            table[i] = x;
        }
        CheckpointOutcome outcome = Checkpointer.checkpointNow();
        System.out.println("OUTCOME " + outcome.kind() + " " + outcome.imageId().orElse("-") + " "
                + outcome.reason().orElse(""));
        long sum = 0;
        for (long v : table) {
            sum += v;
        }
        System.out.println("SUM " + sum);
    }
}
