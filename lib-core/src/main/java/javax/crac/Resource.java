package javax.crac;

/**
 * CRaC's resource interface, implemented by Cryo so that code written for {@code org.crac} works
 * on a stock JDK: org.crac finds this package by default and forwards its resources here.
 */
public interface Resource {
    /**
     * Called before the checkpoint, last registered first.
     *
     * @param context the context the resource is registered with
     * @throws Exception when the resource cannot be checkpointed; no snapshot is taken then
     */
    void beforeCheckpoint(Context<? extends Resource> context) throws Exception;

    /**
     * Called after the checkpoint (in the original) or after a restore, in registration order.
     *
     * @param context the context the resource is registered with
     * @throws Exception when the resource cannot be restored
     */
    void afterRestore(Context<? extends Resource> context) throws Exception;
}
