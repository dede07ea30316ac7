package javax.crac;

/**
 * CRaC's context: resources registered here are notified around each Cryo checkpoint.
 *
 * @param <R> the resource type
 */
public abstract class Context<R extends Resource> implements Resource {
    /** For subclasses. */
    protected Context() {}

    /**
     * Registers {@code resource}; it is notified around every later checkpoint.
     *
     * @param resource the resource
     */
    public abstract void register(R resource);
}
