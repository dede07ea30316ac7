package javax.crac;

import dev.cryo.CheckpointOutcome;
import dev.cryo.Checkpointer;

/**
 * CRaC's entry points on top of Cryo: {@link #checkpointRestore()} is
 * {@link Checkpointer#checkpointNow()}, and the global context registers with {@link Checkpointer}.
 * With Cryo on the class path, {@code org.crac.Core.checkpointRestore()} and
 * {@code org.crac.Core.getGlobalContext()} land here (org.crac looks for {@code javax.crac} unless
 * the system property {@code org.crac.Core.Compat} names another package).
 */
public final class Core {
    private static final Context<Resource> GLOBAL = new GlobalContext();

    private Core() {}

    /**
     * The global context.
     *
     * @return the context whose resources are notified around every checkpoint
     */
    public static Context<Resource> getGlobalContext() {
        return GLOBAL;
    }

    /**
     * Checkpoints with Cryo's default options and returns in the original after the checkpoint, or
     * in a process restored from it.
     *
     * @throws CheckpointException when no snapshot was taken (Cryo's exception and its causes are suppressed)
     * @throws RestoreException when a resource failed after the checkpoint or restore
     */
    public static void checkpointRestore() throws CheckpointException, RestoreException {
        try {
            Checkpointer.checkpointNow();
        } catch (dev.cryo.CheckpointException e) {
            CheckpointException ce = new CheckpointException();
            carry(e, ce);
            throw ce;
        } catch (dev.cryo.RestoreException e) {
            RestoreException re = new RestoreException();
            carry(e, re);
            throw re;
        }
    }

    /** org.crac keeps only the suppressed exceptions: Cryo's own (with its message) comes first. */
    private static void carry(Exception from, Exception to) {
        to.addSuppressed(from);
        for (Throwable t : from.getSuppressed()) {
            to.addSuppressed(t);
        }
    }

    private static final class GlobalContext extends Context<Resource> {
        @Override
        public void register(Resource resource) {
            Context<Resource> self = this;
            Checkpointer.register(new dev.cryo.Resource() {
                @Override
                public void beforeCheckpoint() throws Exception {
                    resource.beforeCheckpoint(self);
                }

                @Override
                public void afterRestore(CheckpointOutcome outcome) throws Exception {
                    resource.afterRestore(self);
                }

                @Override
                public String toString() {
                    return resource.toString();
                }
            });
        }

        @Override
        public void beforeCheckpoint(Context<? extends Resource> context) {
            // The global context is notified through its resources, never as one.
        }

        @Override
        public void afterRestore(Context<? extends Resource> context) {
            // As above.
        }
    }
}
