package dev.cryo.testapp;

import dev.cryo.CheckpointOutcome;
import dev.cryo.Checkpointer;
import dev.cryo.Gpu;
import dev.cryo.Resource;
import java.util.List;

/**
 * An app that caches its GPU list at start, as frameworks cache a device count, and refreshes it
 * through a {@link dev.cryo.DeviceCache}. A resource registered before the cache shows that the
 * cache runs first after a restore. Exits after the checkpoint, so that the image can be restored.
 */
public final class DeviceApp {
    private static volatile List<Gpu> cached = Checkpointer.gpus();

    public static void main(String[] args) throws Exception {
        System.out.println("GPUS at-start n=" + cached.size() + " " + uuids(cached));
        Checkpointer.register(new Resource() {
            @Override
            public void beforeCheckpoint() {}

            @Override
            public void afterRestore(CheckpointOutcome outcome) {
                System.out.println("RESOURCE sees cached n=" + cached.size());
            }
        });
        Checkpointer.registerDeviceCache(gpus -> {
            cached = gpus;
            System.out.println("DEVICE-CACHE refreshed n=" + gpus.size() + " " + uuids(gpus));
        });
        CheckpointOutcome outcome = Checkpointer.checkpointNow(
                dev.cryo.CheckpointOptions.builder().exitAfterCheckpoint(true).build());
        System.out.println("OUTCOME " + outcome.kind() + " image=" + outcome.imageId().orElse("-"));
        System.out.println("GPUS now n=" + Checkpointer.gpus().size() + " " + uuids(Checkpointer.gpus()));
    }

    private static String uuids(List<Gpu> gpus) {
        return gpus.stream().map(g -> g.index() + ":" + g.model() + ":" + g.uuid()).toList().toString();
    }
}
