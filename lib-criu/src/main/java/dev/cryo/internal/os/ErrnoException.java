package dev.cryo.internal.os;

import java.util.Locale;

/** A libc call failed: carries the function, the errno value and its symbolic name. */
public final class ErrnoException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String function;
    private final int errno;
    private final String errnoName;

    public ErrnoException(String function, int errno, String detail) {
        super(String.format(Locale.ROOT, "%s failed: %s (errno %d, %s)%s", function, LibC.strerror(errno),
                errno, LibC.errnoName(errno), detail == null ? "" : ": " + detail));
        this.function = function;
        this.errno = errno;
        this.errnoName = LibC.errnoName(errno);
    }

    /** The libc function that failed. */
    public String function() {
        return function;
    }

    /** The errno value. */
    public int errno() {
        return errno;
    }

    /** The symbolic errno name, for example {@code ESRCH}. */
    public String errnoName() {
        return errnoName;
    }
}
