package dev.cryo.testapp;

import dev.cryo.Checkpointer;
import dev.cryo.CheckpointOutcome;
import dev.cryo.Resource;

/**
 * Touches Cryo, then starts two children, one with the inherited environment and one with an
 * environment of its own (ProcessBuilder.environment() touched), and prints the CRYO_ variables
 * each sees, and whether this process still sees its handoff.
 */
public final class EnvApp {
    public static void main(String[] args) throws Exception {
        Checkpointer.register(new Resource() {
            @Override
            public void beforeCheckpoint() {}

            @Override
            public void afterRestore(CheckpointOutcome outcome) {}
        });
        System.out.println("OWN CRYO_BUILD_KEY=" + (dev.cryo.internal.LaunchHandoff.current().isPresent()));
        for (String kind : new String[] {"INHERITED", "OWN-ENV"}) {
            ProcessBuilder pb = new ProcessBuilder("sh", "-c", "env | grep '^CRYO_' | sed 's/^/" + kind + " /'; true")
                    .inheritIO();
            if (kind.equals("OWN-ENV")) {
                pb.environment().put("SOMETHING", "1");
            }
            pb.start().waitFor();
        }
        System.out.println("DONE");
    }
}
