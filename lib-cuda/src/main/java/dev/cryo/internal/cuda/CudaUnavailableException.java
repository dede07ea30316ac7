package dev.cryo.internal.cuda;

/** The CUDA driver, or its checkpoint API, or a fitting GPU is not there; the message says what to do. */
public sealed class CudaUnavailableException extends RuntimeException permits MissingSymbolException {
    private static final long serialVersionUID = 1L;

    public CudaUnavailableException(String message) {
        super(message);
    }

    public CudaUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
