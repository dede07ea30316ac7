package dev.cryo.testapp;

import org.crac.CheckpointException;
import org.crac.Context;
import org.crac.Core;
import org.crac.Resource;
import org.crac.RestoreException;

/**
 * An app written for org.crac only (no Cryo import): it registers resources with org.crac's global
 * context and calls org.crac's checkpointRestore(). With Cryo on the class path, Cryo takes the
 * checkpoint. {@code --fail} makes a resource refuse the checkpoint.
 */
public final class CracApp {
    // org.crac holds resources weakly: the app keeps them, as CRaC apps must.
    private static final Resource[] KEEP = new Resource[2];

    public static void main(String[] args) throws Exception {
        boolean fail = args.length > 0 && args[0].equals("--fail");
        long secret = System.nanoTime() ^ 0x5DEECE66DL;
        System.out.println("STATE secret=" + secret);
        for (int i = 0; i < KEEP.length; i++) {
            String name = "crac" + i;
            boolean refuse = fail && i == 1;
            KEEP[i] = new Resource() {
                @Override
                public void beforeCheckpoint(Context<? extends Resource> context) {
                    System.out.println("CRAC BEFORE " + name);
                    if (refuse) {
                        throw new IllegalStateException(name + " refuses");
                    }
                }

                @Override
                public void afterRestore(Context<? extends Resource> context) {
                    System.out.println("CRAC AFTER " + name);
                }
            };
            Core.getGlobalContext().register(KEEP[i]);
        }
        try {
            Core.checkpointRestore();
            System.out.println("CRAC RETURNED secret=" + secret);
        } catch (CheckpointException e) {
            System.out.println("CRAC CHECKPOINT-EXCEPTION suppressed=" + e.getSuppressed().length + " first="
                    + e.getSuppressed()[0].getClass().getName());
            for (Throwable t : e.getSuppressed()) {
                System.out.println("  " + String.valueOf(t.getMessage()).lines().findFirst().orElse(""));
            }
        } catch (RestoreException e) {
            System.out.println("CRAC RESTORE-EXCEPTION suppressed=" + e.getSuppressed().length);
        }
        System.out.println("DONE");
    }
}
