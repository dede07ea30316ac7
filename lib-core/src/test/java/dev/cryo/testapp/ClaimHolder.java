package dev.cryo.testapp;

import dev.cryo.internal.ImageStore;
import java.nio.file.Path;

/**
 * Claims build KEY in STORE and starts an unfinished image there, as a checkpoint in progress
 * does, prints {@code CLAIMED}, then holds them ({@code hold}: until killed) or leaves them behind
 * ({@code leave}: exits at once, as a process that died mid-checkpoint).
 */
public final class ClaimHolder {
    private ClaimHolder() {}

    public static void main(String[] args) throws Exception {
        ImageStore store = new ImageStore(Path.of(args[0]));
        Path claim = store.claim(args[1]).orElseThrow(() -> new IllegalStateException("claimed already"));
        Path tmp = store.begin(ImageStore.newId());
        System.out.println("CLAIMED " + claim + " " + tmp + " pid=" + ProcessHandle.current().pid());
        System.out.flush();
        if (args[2].equals("hold")) {
            Thread.sleep(Long.MAX_VALUE);
        }
    }
}
