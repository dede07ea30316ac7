package dev.cryo.testapp;

import dev.cryo.CheckpointException;
import dev.cryo.CheckpointOptions;
import dev.cryo.CheckpointOutcome;
import dev.cryo.Checkpointer;
import dev.cryo.Resource;
import dev.cryo.RestoreException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * The app the end-to-end tests checkpoint: it builds state that takes time to compute, registers
 * resources that log their calls, checkpoints itself, and proves afterwards that its state is the
 * same. Each line it prints is a fact the tests read.
 *
 * <p>Arguments: {@code --entries N} table size; {@code --exit-after} exit after the checkpoint;
 * {@code --fail-before NAME} that resource throws in beforeCheckpoint; {@code --fail-after NAME}
 * throws in afterRestore; {@code --image DIR} image directory option; {@code --linger-ms N} stay
 * alive that long after the checkpoint, or until {@code --linger-until FILE} exists; {@code --ballast-mb N} extra live heap (a slower dump);
 * {@code --garbage-mb N} that much heap allocated, all live at once, and dropped before the checkpoint (the heap grows, then holds that much free space).
 */
public final class StatefulApp {
    private static long[] table;
    private static byte[][] ballast;

    public static void main(String[] args) throws Exception {
        int entries = 2_000_000;
        boolean exitAfter = false;
        String failBefore = null;
        String failAfter = null;
        Path image = null;
        long lingerMs = 0;
        int ballastMb = 0;
        int garbageMb = 0;
        Path lingerUntil = null;
        boolean crashWhenRestored = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--entries" -> entries = Integer.parseInt(args[++i]);
                case "--exit-after" -> exitAfter = true;
                case "--fail-before" -> failBefore = args[++i];
                case "--fail-after" -> failAfter = args[++i];
                case "--image" -> image = Path.of(args[++i]);
                case "--linger-ms" -> lingerMs = Long.parseLong(args[++i]);
                case "--ballast-mb" -> ballastMb = Integer.parseInt(args[++i]);
                case "--garbage-mb" -> garbageMb = Integer.parseInt(args[++i]);
                case "--linger-until" -> lingerUntil = Path.of(args[++i]);
                case "--crash-when-restored" -> crashWhenRestored = true;
                default -> throw new IllegalArgumentException(args[i]);
            }
        }
        long t0 = System.nanoTime();
        table = new long[entries];
        long x = 0x9E3779B97F4A7C15L;
        for (int i = 0; i < entries; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            table[i] = x * (i + 1);
        }
        ballast = new byte[ballastMb][];
        for (int i = 0; i < ballastMb; i++) {
            ballast[i] = new byte[1 << 20];
            java.util.Arrays.fill(ballast[i], (byte) i);
        }
        long garbageSum = 0;
        byte[][] garbage = new byte[garbageMb][]; // all live at once, so that the heap grows to hold them
        for (int i = 0; i < garbageMb; i++) {
            garbage[i] = new byte[1 << 20];
            java.util.Arrays.fill(garbage[i], (byte) i);
            garbageSum += garbage[i][i];
        }
        garbage = null; // free space in the heap from here on
        String hash = hash(table);
        System.out.println("STATE entries=" + entries + " hash=" + hash + " pid=" + ProcessHandle.current().pid()
                + " built_ms=" + (System.nanoTime() - t0) / 1_000_000);
        for (String name : new String[] {"R1", "R2", "R3"}) {
            String fb = failBefore;
            String fa = failAfter;
            Checkpointer.register(new Resource() {
                @Override
                public void beforeCheckpoint() {
                    System.out.println("BEFORE " + name);
                    if (name.equals(fb)) {
                        throw new IllegalStateException(name + " refuses to checkpoint");
                    }
                }

                @Override
                public void afterRestore(CheckpointOutcome outcome) {
                    System.out.println("AFTER " + name + " " + outcome.kind());
                    if (name.equals(fa)) {
                        throw new IllegalStateException(name + " cannot come back");
                    }
                }

                @Override
                public String toString() {
                    return "resource " + name;
                }
            });
        }
        System.out.flush();
        CheckpointOptions.Builder options = CheckpointOptions.builder().exitAfterCheckpoint(exitAfter);
        if (image != null) {
            options.imageDirectory(image);
        }
        int status = 0;
        try {
            CheckpointOutcome outcome = Checkpointer.checkpointNow(options.build());
            System.out.println("OUTCOME " + outcome.kind() + " " + outcome.imageId().orElse("-") + " pid="
                    + ProcessHandle.current().pid());
            System.out.println("HEAP-FREE-RATIOS " + heapFreeRatios() + " garbage=" + garbageSum);
            if (crashWhenRestored && outcome.kind() == CheckpointOutcome.Kind.RESTORED) {
                // What a restore into broken state looks like from outside: death by SIGABRT.
                System.out.flush();
                new ProcessBuilder("kill", "-ABRT", Long.toString(ProcessHandle.current().pid())).start().waitFor();
                Thread.sleep(10_000);
            }
        } catch (CheckpointException e) {
            System.out.println("CHECKPOINT-FAILED " + e.reason() + " suppressed=" + e.getSuppressed().length);
            System.out.println("MESSAGE " + e.getMessage().replace('\n', ' '));
            status = 3;
        } catch (RestoreException e) {
            System.out.println("RESTORE-FAILED " + e.outcome().kind() + " suppressed=" + e.getSuppressed().length);
            status = 4;
        }
        System.out.println("STATE-AFTER hash=" + hash(table) + " ballast=" + ballastOk());
        System.out.flush();
        long lingerEnd = System.nanoTime() + lingerMs * 1_000_000;
        while (System.nanoTime() < lingerEnd && (lingerUntil == null || !java.nio.file.Files.exists(lingerUntil))) {
            Thread.sleep(20);
        }
        System.out.println("DONE");
        System.exit(status);
    }

    /** The collector's MinHeapFreeRatio and MaxHeapFreeRatio, as {@code min=N max=N}. */
    private static String heapFreeRatios() {
        var vm = java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
        return "min=" + vm.getVMOption("MinHeapFreeRatio").getValue() + " max=" + vm.getVMOption("MaxHeapFreeRatio").getValue();
    }

    private static boolean ballastOk() {
        for (int i = 0; i < ballast.length; i++) {
            if (ballast[i][12345] != (byte) i) {
                return false;
            }
        }
        return true;
    }

    private static String hash(long[] values) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        ByteBuffer buf = ByteBuffer.allocate(8 * 4096);
        for (int i = 0; i < values.length; i++) {
            buf.putLong(values[i]);
            if (!buf.hasRemaining()) {
                sha.update(buf.flip());
                buf.clear();
            }
        }
        sha.update(buf.flip());
        return HexFormat.of().formatHex(sha.digest()).substring(0, 16);
    }
}
