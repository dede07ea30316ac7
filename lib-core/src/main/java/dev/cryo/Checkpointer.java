package dev.cryo;

import dev.cryo.internal.ResourceChain;
import dev.cryo.internal.checkpoint.ApiAccess;
import dev.cryo.internal.checkpoint.CheckpointSequence;

/**
 * The entry point: an app calls {@link #checkpointNow()} once its start-up is done. The first run
 * writes a snapshot of the whole process and carries on; a start that {@code bin/cryo} restores
 * from that snapshot returns from the same call, told that it was restored. The full contract is
 * in {@link dev.cryo the package documentation}.
 */
public final class Checkpointer {
    static final ResourceChain<Resource, CheckpointOutcome> RESOURCES =
            ResourceChain.of(Resource::beforeCheckpoint, Resource::afterRestore);

    private static final org.slf4j.Logger LOG = dev.cryo.internal.Logs.get(Checkpointer.class);
    private static final java.util.List<java.lang.ref.WeakReference<java.util.Random>> RANDOMS =
            new java.util.concurrent.CopyOnWriteArrayList<>();

    static {
        // The launcher's handoff, read now, before the app starts children that would inherit it.
        dev.cryo.internal.LaunchHandoff.current();
        // Registered first, so that it runs first after a restore: resources that draw ids from
        // these generators (the JDK's own included) see them reseeded.
        RESOURCES.register(new Resource() {
            @Override
            public void beforeCheckpoint() {
                dev.cryo.internal.JdkGenerators.prepare();
            }

            @Override
            public void afterRestore(CheckpointOutcome outcome) {
                if (outcome.isRestored()) {
                    reseed();
                }
            }

            @Override
            public String toString() {
                return "Cryo's reseeding of the JDK's and registered random generators";
            }
        });
    }

    private static final java.util.List<DeviceCache> DEVICE_CACHES = new java.util.concurrent.CopyOnWriteArrayList<>();
    private static volatile java.util.List<Gpu> gpus; // read on first use, and again after each restore

    private Checkpointer() {}

    /**
     * The NVIDIA GPUs of the machine this process runs on now, in the driver's order; empty where
     * there are none. Read from the driver's listing (no CUDA call, so it costs microseconds and
     * works while the process's CUDA state is locked), cached, and read again after every restore,
     * before any callback runs: a restored process never sees the GPUs of the machine it was
     * checkpointed on.
     *
     * @return the GPUs, an unmodifiable list
     */
    public static java.util.List<Gpu> gpus() {
        java.util.List<Gpu> known = gpus;
        return known != null ? known : refreshGpus();
    }

    static java.util.List<Gpu> refreshGpus() {
        java.util.List<Gpu> now = dev.cryo.internal.GpuInventory.present().stream()
                .map(d -> new Gpu(d.ordinal(), d.name(), d.uuidString())).toList();
        gpus = now;
        return now;
    }

    /**
     * Registers an app's cache of device facts, refreshed first after every restore (before every
     * {@link Resource}, in registration order) with the GPUs present then. This is where an app
     * re-reads what frameworks cache once per process: device counts, device lists, placements.
     *
     * @param cache the cache's refresh
     */
    public static void registerDeviceCache(DeviceCache cache) {
        DEVICE_CACHES.add(java.util.Objects.requireNonNull(cache, "cache"));
    }

    /** Runs every device cache's refresh; returns the failures, each naming its cache. */
    static java.util.List<Exception> refreshDeviceCaches(java.util.List<Gpu> now) {
        java.util.List<Exception> failures = new java.util.ArrayList<>();
        for (DeviceCache cache : DEVICE_CACHES) {
            try {
                cache.refresh(now);
            } catch (Exception e) {
                failures.add(new IllegalStateException("device cache " + cache + " failed to refresh: " + e, e));
            }
        }
        return failures;
    }

    /**
     * Registers a random generator to be reseeded in every restored copy, so that copies restored
     * from one image do not repeat each other's values: a {@link java.security.SecureRandom} gets
     * fresh seed bytes mixed in, a plain {@link java.util.Random} a fresh seed. Held weakly.
     * What cannot be reseeded is listed in {@link dev.cryo the package documentation}.
     *
     * @param random the generator
     * @param <R> its type
     * @return {@code random}, for {@code var r = Checkpointer.reseeded(new Random());}
     */
    public static <R extends java.util.Random> R reseeded(R random) {
        RANDOMS.add(new java.lang.ref.WeakReference<>(java.util.Objects.requireNonNull(random, "random")));
        return random;
    }

    private static void reseed() {
        java.security.SecureRandom fresh = new java.security.SecureRandom(); // reads the OS's entropy now
        dev.cryo.internal.JdkGenerators.NotReseeded left = dev.cryo.internal.JdkGenerators.reseed(fresh);
        if (!left.isEmpty()) {
            LOG.warn("Not reseeded in this restored copy: {}; every copy restored from this image draws the same"
                    + " values from them{}", String.join(", ", left.generators()), left.options().isEmpty() ? ""
                    : ". Start the app through bin/cryo run, which opens what Cryo needs, or add "
                            + String.join(" ", left.options()) + " to its java command");
        }
        RANDOMS.removeIf(ref -> ref.get() == null);
        for (var ref : RANDOMS) {
            java.util.Random r = ref.get();
            if (r instanceof java.security.SecureRandom secure) {
                secure.setSeed(fresh.generateSeed(32)); // supplements, never replaces, its state
            } else if (r != null) {
                r.setSeed(fresh.nextLong());
            }
        }
    }

    /**
     * Registers a resource to be notified around every checkpoint. Resources are held strongly
     * (unlike org.crac's global context) so that a lambda or anonymous class stays registered.
     *
     * @param resource the resource
     */
    public static void register(Resource resource) {
        RESOURCES.register(java.util.Objects.requireNonNull(resource, "resource"));
    }

    /**
     * Checkpoints this process with the {@linkplain CheckpointOptions#defaults() default options}.
     *
     * @return {@code CHECKPOINTED} in the original process, {@code RESTORED} in a restored one
     * @throws CheckpointException when no snapshot was taken; the process goes on unchanged
     * @throws RestoreException when the snapshot was taken but a resource failed to come back
     */
    public static CheckpointOutcome checkpointNow() throws CheckpointException, RestoreException {
        return checkpointNow(CheckpointOptions.defaults());
    }

    /**
     * Checkpoints this process: notifies the resources, suspends the GPU state if the process has
     * any, dumps the process with CRIU into a new image, then resumes in whichever process goes on.
     *
     * @param options how to take the snapshot
     * @return {@code CHECKPOINTED} in the original process, {@code RESTORED} in a restored one
     * @throws CheckpointException when no snapshot was taken; the process goes on unchanged
     * @throws RestoreException when the snapshot was taken but a resource failed to come back
     */
    public static CheckpointOutcome checkpointNow(CheckpointOptions options)
            throws CheckpointException, RestoreException {
        return CheckpointSequence.run(java.util.Objects.requireNonNull(options, "options"), API);
    }

    /** What the checkpoint sequence (dev.cryo.internal.checkpoint) may do of this package's own. */
    private static final ApiAccess API = new ApiAccess() {
        @Override
        public CheckpointException checkpointFailure(CheckpointException.Reason reason, String message,
                Throwable cause) {
            return new CheckpointException(reason, message, cause);
        }

        @Override
        public RestoreException restoreFailure(String message, CheckpointOutcome outcome) {
            return new RestoreException(message, outcome, null);
        }

        @Override
        public CheckpointOutcome outcome(CheckpointOutcome.Kind kind, java.nio.file.Path image, String imageId,
                String reason, java.time.Duration pause) {
            return new CheckpointOutcome(kind, image, imageId, reason, pause);
        }

        @Override
        public ResourceChain<Resource, CheckpointOutcome> resources() {
            return RESOURCES;
        }

        @Override
        public java.util.List<Gpu> refreshGpus() {
            return Checkpointer.refreshGpus();
        }

        @Override
        public java.util.List<Exception> refreshDeviceCaches(java.util.List<Gpu> now) {
            return Checkpointer.refreshDeviceCaches(now);
        }
    };
}
