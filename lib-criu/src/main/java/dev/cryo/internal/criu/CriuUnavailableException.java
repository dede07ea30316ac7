package dev.cryo.internal.criu;

/** CRIU or libcriu cannot be used here; the message says why and what to do. */
public final class CriuUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CriuUnavailableException(String message) {
        super(message);
    }

    public CriuUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
