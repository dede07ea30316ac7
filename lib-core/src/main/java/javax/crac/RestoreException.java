package javax.crac;

/** The restore was not complete; each cause is a suppressed exception (org.crac copies them). */
public class RestoreException extends Exception {
    private static final long serialVersionUID = 1L;

    /** An exception whose causes are added as suppressed. */
    public RestoreException() {}
}
