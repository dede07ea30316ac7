package javax.crac;

/** The checkpoint did not happen; each cause is a suppressed exception (org.crac copies them). */
public class CheckpointException extends Exception {
    private static final long serialVersionUID = 1L;

    /** An exception whose causes are added as suppressed. */
    public CheckpointException() {}
}
