package dev.cryo.internal.checkpoint;

import dev.cryo.CheckpointException;
import dev.cryo.CheckpointException.Reason;
import dev.cryo.Checkpointer;
import dev.cryo.Gpu;
import dev.cryo.Resource;
import dev.cryo.internal.ResourceChain;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every registered resource's {@code beforeCheckpoint}, last registered first; those that took it
 * get {@code afterRestore} in whichever process goes on, and in a restored copy the GPU list and
 * the device caches are refreshed before them.
 */
record ResourcesStep(ApiAccess api) implements Step<ResourcesStep.Notified> {
    private static final Logger LOG = LoggerFactory.getLogger(Checkpointer.class);

    /** The resources whose {@code beforeCheckpoint} succeeded, in registration order. */
    record Notified(ApiAccess api, List<Resource> ready) implements Done {
        @Override
        public void undo(Resumption r) {
            api.resources().afterRestore(ready, r.outcome()).forEach(r::failed);
        }

        @Override
        public void afterDump(Resumption r) {
            api.resources().afterRestore(ready, r.outcome()).forEach(r::failed);
        }

        @Override
        public void afterRestore(Resumption r) {
            long t = System.nanoTime();
            List<Gpu> before = Checkpointer.gpus();
            List<Gpu> now = api.refreshGpus();
            if (!now.equals(before)) {
                LOG.info("The GPUs differ from those at checkpoint: {} then, {} now", before, now);
            }
            api.refreshDeviceCaches(now).forEach(r::failed);
            r.timed("deviceRefresh", t);
            t = System.nanoTime();
            api.resources().afterRestore(ready, r.outcome()).forEach(r::failed);
            r.timed("afterRestore", t);
        }
    }

    @Override
    public String name() {
        return "beforeCheckpoint";
    }

    @Override
    public Notified run() throws CheckpointException {
        ResourceChain.Notified<Resource> notified = api.resources().beforeCheckpoint();
        Notified done = new Notified(api, notified.ready());
        if (notified.failures().isEmpty()) {
            return done;
        }
        CheckpointException e = api.checkpointFailure(Reason.RESOURCE_FAILED, notified.failures().size()
                + " resource(s) failed in beforeCheckpoint, so no snapshot was taken: "
                + notified.failures().get(0).getMessage() + ". Fix the resource (see the suppressed exceptions);"
                + " the resources already notified got afterRestore.", null);
        notified.failures().forEach(e::addSuppressed);
        // This step's own part first: the resources that took beforeCheckpoint go back.
        Resumption r = Sequence.undoing(api, "a resource failed before the checkpoint");
        done.undo(r);
        r.failures().forEach(e::addSuppressed);
        throw e;
    }
}
