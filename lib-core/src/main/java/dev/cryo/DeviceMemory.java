package dev.cryo;

import dev.cryo.internal.DeviceMemoryRegistry;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Device memory whose contents Cryo moves itself at a checkpoint, through pinned host buffers at
 * the speed of the link, instead of leaving them to the driver's checkpoint (a few GB/s): the place
 * for an app's large, long-lived device data, such as a model's weights.
 *
 * <p>{@link #allocate} reserves a range of device addresses and maps physical memory of the GPU
 * there (CUDA's virtual memory API, in the GPU's primary context: the context the CUDA runtime and
 * most apps use). At a checkpoint, after the {@link Resource#beforeCheckpoint()} callbacks, Cryo
 * copies the contents into files of the image and releases the physical memory, keeping the
 * address range; the driver then checkpoints only the app's other device memory. Whichever process
 * goes on (the original, or a copy restored from the image) gets the memory mapped again at
 * <em>the same address</em> and filled, before any {@link Resource#afterRestore} runs: pointers the
 * app and its kernels hold stay valid. If the checkpoint fails on the way, the memory is filled
 * again the same way and the app goes on with it intact.
 *
 * <p>Memory allocated otherwise ({@code cuMemAlloc}, {@code cudaMalloc}) keeps the driver's path.
 * {@code allocate}, {@link #read} and {@link #close} wait while a checkpoint is moving device
 * memory. The app must not use the memory from its own threads during {@code checkpointNow()}
 * (as for any device memory): stop such work in {@code beforeCheckpoint}.
 */
public final class DeviceMemory implements AutoCloseable {
    private final DeviceMemoryRegistry.Allocation allocation;

    private DeviceMemory(DeviceMemoryRegistry.Allocation allocation) {
        this.allocation = allocation;
    }

    /**
     * Allocates {@code bytes} of device memory on GPU {@code gpu} (its ordinal), readable and
     * writable from that GPU, contents undefined. Initializes the CUDA driver if the app has not;
     * the thread's current CUDA context is left as it was.
     *
     * @throws IllegalArgumentException when {@code bytes} is not positive
     * @throws IllegalStateException    when the driver refuses (no such GPU, out of device memory, no
     *                                  NVIDIA driver): the message names the CUDA call and its error
     */
    public static DeviceMemory allocate(int gpu, long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("bytes must be positive, not " + bytes);
        }
        return new DeviceMemory(DeviceMemoryRegistry.allocate(gpu, bytes));
    }

    /** The device address of the first byte; the same after every checkpoint and restore. */
    public long address() {
        return allocation.address();
    }

    /** The size asked for, in bytes. */
    public long bytes() {
        return allocation.bytes();
    }

    /** The GPU's ordinal. */
    public int gpu() {
        return allocation.gpu();
    }

    /**
     * Fills this memory with the first {@link #bytes()} bytes of {@code file}, through the same
     * pinned pipeline that fills it after a restore (parallel readers, several streams): the fast
     * way to load weights at a cold start.
     *
     * @throws IOException           when the file cannot be read or is shorter than this memory
     * @throws IllegalStateException when this memory is closed, or a CUDA call fails (named)
     */
    public void read(Path file) throws IOException {
        allocation.read(file);
    }

    /** Unmaps and frees the memory and its address range; later calls do nothing. */
    @Override
    public void close() {
        allocation.close();
    }

    @Override
    public String toString() {
        return allocation.toString();
    }
}
