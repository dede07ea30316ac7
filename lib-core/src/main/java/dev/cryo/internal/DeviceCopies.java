package dev.cryo.internal;

import java.lang.foreign.MemorySegment;

/**
 * The device side of {@link DeviceMemoryFiles}' pipelines, for one GPU: host memory pinned for
 * copies at link speed, and asynchronous copies between host and device, each marked done per
 * ring slot. {@link CudaCopies} is the GPU; tests use host memory as the "device".
 */
public interface DeviceCopies extends AutoCloseable {
    /** Makes the calling thread able to queue copies and wait for them (the GPU's context current). */
    void attach();

    /** Pins {@code host} for copies at link speed ({@code readOnly}: the device only reads it). */
    void pin(MemorySegment host, boolean readOnly);

    /** Undoes {@link #pin}. */
    void unpin(MemorySegment host);

    /** Queues a copy of {@code host.byteSize()} bytes from {@code device} into {@code host}; {@code slot} marks it. */
    void toHost(long device, MemorySegment host, int slot);

    /** Queues a copy of {@code host} to {@code device}; {@code slot} marks it. */
    void toDevice(MemorySegment host, long device, int slot);

    /** Waits until the last copy marked with {@code slot} is done. */
    void await(int slot);

    /** Whether the last copy marked with {@code slot} is done, without waiting. */
    boolean reached(int slot);

    /** Waits until every queued copy is done. */
    void awaitAll();

    /** Frees what the copies used (streams, events); never throws. */
    @Override
    void close();
}
