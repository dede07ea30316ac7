package dev.cryo.internal.cuda;

import java.util.Locale;

/** A CUDA driver call failed: the function, the CUresult, its name and the driver's description. */
public final class CudaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String function;
    private final int code;
    private final String name;

    CudaException(String function, int code, String name, String description, String context) {
        super(String.format(Locale.ROOT, "%s failed: %s (%d): %s%s%s", function, name, code, description,
                hint(code), context == null ? "" : ". " + context));
        this.function = function;
        this.code = code;
        this.name = name;
    }

    private static String hint(int code) {
        return switch (code) {
            case 2 -> ". The GPU has not enough free memory for the restored state: free GPU memory (other processes)"
                    + " or restore on a GPU with more memory";
            case 100 -> ". No CUDA GPU is visible: restore needs the same GPU model and count as at checkpoint";
            case 801 -> ". The driver cannot checkpoint this process: managed (unified) memory, MIG, MPS or IPC"
                    + " memory is in use; allocate with cuMemAlloc/cudaMalloc instead";
            // The lock answers NOT_READY (seen on driver 580) or TIMEOUT when work outlasts its timeout.
            case 600, 909 -> ". CUDA work still running did not finish within the lock timeout: let kernels finish, or"
                    + " raise CheckpointOptions.gpuLockTimeout";
            default -> "";
        };
    }

    /** The driver function that failed. */
    public String function() {
        return function;
    }

    /** The CUresult. */
    public int code() {
        return code;
    }

    /** The CUresult's name, such as {@code CUDA_ERROR_NOT_SUPPORTED}. */
    public String name() {
        return name;
    }
}
