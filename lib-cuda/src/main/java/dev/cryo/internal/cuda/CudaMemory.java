package dev.cryo.internal.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * libcuda's virtual memory management, streams, events, asynchronous copies and host
 * registration: what Cryo needs to move device memory itself, at the speed of the link. Device
 * memory made with the virtual memory API ({@code cuMemAddressReserve} + {@code cuMemCreate} +
 * {@code cuMemMap}) can be released while its address range stays reserved, and mapped again at
 * the same address after a checkpoint, so that pointers the app and its kernels hold stay valid.
 * Every call works in the primary context of its device, as an app's own runtime-API code does.
 */
public final class CudaMemory {
    /** CUresult CUDA_ERROR_NOT_READY: an event not reached yet. */
    private static final int NOT_READY = 600;
    /** cuMemHostRegister flag: the device only reads the memory (a read-only file mapping can be registered). */
    public static final int HOST_REGISTER_READ_ONLY = 0x08;
    private static final int ALLOCATION_TYPE_PINNED = 1;
    private static final int LOCATION_TYPE_DEVICE = 1;
    private static final int ACCESS_READ_WRITE = 3;
    private static final int STREAM_NON_BLOCKING = 1;
    private static final int EVENT_DISABLE_TIMING = 2;

    /** cuMemCreate & co. */
    private static final String VIRTUAL_MEMORY_API = "driver r440 / CUDA 10.2";

    private final LibCuda cuda;
    private final NativeLibrary.Function cuDeviceGet;
    private final NativeLibrary.Function cuDevicePrimaryCtxRetain;
    private final NativeLibrary.Function cuCtxGetCurrent;
    private final NativeLibrary.Function cuCtxSetCurrent;
    private final NativeLibrary.Function cuMemGetAllocationGranularity;
    private final NativeLibrary.Function cuMemAddressReserve;
    private final NativeLibrary.Function cuMemAddressFree;
    private final NativeLibrary.Function cuMemCreate;
    private final NativeLibrary.Function cuMemRelease;
    private final NativeLibrary.Function cuMemMap;
    private final NativeLibrary.Function cuMemUnmap;
    private final NativeLibrary.Function cuMemSetAccess;
    private final NativeLibrary.Function cuStreamCreate;
    private final NativeLibrary.Function cuStreamDestroy_v2;
    private final NativeLibrary.Function cuStreamSynchronize;
    private final NativeLibrary.Function cuEventCreate;
    private final NativeLibrary.Function cuEventRecord;
    private final NativeLibrary.Function cuEventSynchronize;
    private final NativeLibrary.Function cuEventQuery;
    private final NativeLibrary.Function cuEventDestroy_v2;
    private final NativeLibrary.Function cuMemcpyHtoDAsync_v2;
    private final NativeLibrary.Function cuMemcpyDtoHAsync_v2;
    private final NativeLibrary.Function cuMemHostRegister_v2;
    private final NativeLibrary.Function cuMemHostUnregister;
    private static CudaMemory loaded;

    private CudaMemory(LibCuda cuda) {
        this.cuda = cuda;
        String base = LibCuda.DRIVER_API;
        String vmm = VIRTUAL_MEMORY_API;
        cuDeviceGet = cuda.function("cuDeviceGet", base, ADDRESS, JAVA_INT);
        cuDevicePrimaryCtxRetain = cuda.function("cuDevicePrimaryCtxRetain", "CUDA 7.0", ADDRESS, JAVA_INT);
        cuCtxGetCurrent = cuda.function("cuCtxGetCurrent", base, ADDRESS);
        cuCtxSetCurrent = cuda.function("cuCtxSetCurrent", base, ADDRESS);
        cuMemGetAllocationGranularity = cuda.function("cuMemGetAllocationGranularity", vmm, ADDRESS, ADDRESS, JAVA_INT);
        cuMemAddressReserve = cuda.function("cuMemAddressReserve", vmm, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                JAVA_LONG);
        cuMemAddressFree = cuda.function("cuMemAddressFree", vmm, JAVA_LONG, JAVA_LONG);
        cuMemCreate = cuda.function("cuMemCreate", vmm, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG);
        cuMemRelease = cuda.function("cuMemRelease", vmm, JAVA_LONG);
        cuMemMap = cuda.function("cuMemMap", vmm, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG);
        cuMemUnmap = cuda.function("cuMemUnmap", vmm, JAVA_LONG, JAVA_LONG);
        cuMemSetAccess = cuda.function("cuMemSetAccess", vmm, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG);
        cuStreamCreate = cuda.function("cuStreamCreate", base, ADDRESS, JAVA_INT);
        cuStreamDestroy_v2 = cuda.function("cuStreamDestroy_v2", base, ADDRESS);
        cuStreamSynchronize = cuda.function("cuStreamSynchronize", base, ADDRESS);
        cuEventCreate = cuda.function("cuEventCreate", base, ADDRESS, JAVA_INT);
        cuEventRecord = cuda.function("cuEventRecord", base, ADDRESS, ADDRESS);
        cuEventSynchronize = cuda.function("cuEventSynchronize", base, ADDRESS);
        cuEventQuery = cuda.function("cuEventQuery", base, ADDRESS);
        cuEventDestroy_v2 = cuda.function("cuEventDestroy_v2", base, ADDRESS);
        cuMemcpyHtoDAsync_v2 = cuda.function("cuMemcpyHtoDAsync_v2", base, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS);
        cuMemcpyDtoHAsync_v2 = cuda.function("cuMemcpyDtoHAsync_v2", base, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS);
        cuMemHostRegister_v2 = cuda.function("cuMemHostRegister_v2", "CUDA 6.5", ADDRESS, JAVA_LONG, JAVA_INT);
        cuMemHostUnregister = cuda.function("cuMemHostUnregister", base, ADDRESS);
    }

    /** Loads libcuda (see {@link LibCuda#load()}) and initializes the driver API. */
    public static synchronized CudaMemory load() {
        if (loaded == null) {
            LibCuda cuda = LibCuda.load();
            cuda.init();
            loaded = new CudaMemory(cuda);
        }
        return loaded;
    }

    /** The primary context of device {@code gpu} (retained: it lives as long as the process). */
    public MemorySegment primaryContext(int gpu) {
        int device = (int) cuda.callForLong(cuDeviceGet, (h, out, a) -> (int) h.invokeExact(out, gpu));
        return MemorySegment.ofAddress(cuda.callForLong(cuDevicePrimaryCtxRetain,
                (h, out, a) -> (int) h.invokeExact(out, device)));
    }

    /** The calling thread's current context (NULL when none). */
    public MemorySegment currentContext() {
        return MemorySegment.ofAddress(cuda.callForLong(cuCtxGetCurrent, (h, out, a) -> (int) h.invokeExact(out)));
    }

    /** Makes {@code context} current on the calling thread. */
    public void makeCurrent(MemorySegment context) {
        cuda.call(cuCtxSetCurrent, h -> (int) h.invokeExact(context));
    }

    private static MemorySegment allocationProp(Arena a, int gpu) {
        MemorySegment prop = a.allocate(CudaStructs.ALLOCATION_PROP); // zeroed: no handle types, no flags
        CudaStructs.ALLOCATION_TYPE.set(prop, 0L, ALLOCATION_TYPE_PINNED);
        CudaStructs.ALLOCATION_LOCATION_TYPE.set(prop, 0L, LOCATION_TYPE_DEVICE);
        CudaStructs.ALLOCATION_LOCATION_ID.set(prop, 0L, gpu);
        return prop;
    }

    /** The size every mapping on {@code gpu} is a multiple of (2 MiB on current GPUs). */
    public long granularity(int gpu) {
        return cuda.callForLong(cuMemGetAllocationGranularity,
                (h, out, a) -> (int) h.invokeExact(out, allocationProp(a, gpu), 0));
    }

    /** Reserves {@code bytes} of device address space (a multiple of the granularity). */
    public long reserve(long bytes, long alignment) {
        return cuda.callForLong(cuMemAddressReserve,
                (h, out, a) -> (int) h.invokeExact(out, bytes, alignment, 0L, 0L));
    }

    /** Gives a reserved range back. */
    public void freeAddress(long address, long bytes) {
        cuda.call(cuMemAddressFree, h -> (int) h.invokeExact(address, bytes));
    }

    /**
     * Creates {@code bytes} of physical memory on {@code gpu}, maps it at {@code address} (inside a
     * reservation) and makes it readable and writable from that GPU. On failure nothing is left
     * created or mapped.
     *
     * @return the allocation handle, for {@link #unmapAndRelease}
     */
    public long createAndMap(int gpu, long address, long bytes) {
        long handle = cuda.callForLong(cuMemCreate,
                (h, out, a) -> (int) h.invokeExact(out, bytes, allocationProp(a, gpu), 0L));
        try {
            cuda.call(cuMemMap, h -> (int) h.invokeExact(address, bytes, 0L, handle, 0L));
        } catch (RuntimeException e) {
            releaseQuietly(handle, e);
            throw e;
        }
        try {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment desc = a.allocate(CudaStructs.ACCESS_DESC);
                CudaStructs.ACCESS_LOCATION_TYPE.set(desc, 0L, LOCATION_TYPE_DEVICE);
                CudaStructs.ACCESS_LOCATION_ID.set(desc, 0L, gpu);
                CudaStructs.ACCESS_FLAGS.set(desc, 0L, ACCESS_READ_WRITE);
                cuda.call(cuMemSetAccess, h -> (int) h.invokeExact(address, bytes, desc, 1L));
            }
        } catch (RuntimeException e) {
            try {
                cuda.call(cuMemUnmap, h -> (int) h.invokeExact(address, bytes));
            } catch (RuntimeException u) {
                e.addSuppressed(u);
            }
            releaseQuietly(handle, e);
            throw e;
        }
        return handle;
    }

    private void releaseQuietly(long handle, RuntimeException cause) {
        try {
            cuda.call(cuMemRelease, h -> (int) h.invokeExact(handle));
        } catch (RuntimeException r) {
            cause.addSuppressed(r);
        }
    }

    /** Unmaps {@code address} and releases the physical memory; the address range stays reserved. */
    public void unmapAndRelease(long address, long bytes, long handle) {
        cuda.call(cuMemUnmap, h -> (int) h.invokeExact(address, bytes));
        cuda.call(cuMemRelease, h -> (int) h.invokeExact(handle));
    }

    /** A new non-blocking stream in the current context. */
    public MemorySegment newStream() {
        return MemorySegment.ofAddress(cuda.callForLong(cuStreamCreate,
                (h, out, a) -> (int) h.invokeExact(out, STREAM_NON_BLOCKING)));
    }

    /** Waits for everything queued on {@code stream}. */
    public void synchronize(MemorySegment stream) {
        cuda.call(cuStreamSynchronize, h -> (int) h.invokeExact(stream));
    }

    /** Destroys a stream. */
    public void destroyStream(MemorySegment stream) {
        cuda.call(cuStreamDestroy_v2, h -> (int) h.invokeExact(stream));
    }

    /** A new event without timing, in the current context. */
    public MemorySegment newEvent() {
        return MemorySegment.ofAddress(cuda.callForLong(cuEventCreate,
                (h, out, a) -> (int) h.invokeExact(out, EVENT_DISABLE_TIMING)));
    }

    /** Records {@code event} on {@code stream}: it completes once the work queued before it has. */
    public void record(MemorySegment event, MemorySegment stream) {
        cuda.call(cuEventRecord, h -> (int) h.invokeExact(event, stream));
    }

    /** Waits until {@code event} completed. */
    public void await(MemorySegment event) {
        cuda.call(cuEventSynchronize, h -> (int) h.invokeExact(event));
    }

    /** Whether {@code event} completed, without waiting. */
    public boolean reached(MemorySegment event) {
        int rc = cuEventQuery.invokeInt(h -> (int) h.invokeExact(event));
        if (rc == NOT_READY) {
            return false;
        }
        cuda.check(cuEventQuery.symbol(), rc);
        return true;
    }

    /** Destroys an event. */
    public void destroyEvent(MemorySegment event) {
        cuda.call(cuEventDestroy_v2, h -> (int) h.invokeExact(event));
    }

    /** Queues a copy of {@code host} to {@code device} on {@code stream}. */
    public void copyToDevice(long device, MemorySegment host, MemorySegment stream) {
        long n = host.byteSize();
        cuda.call(cuMemcpyHtoDAsync_v2, h -> (int) h.invokeExact(device, host, n, stream));
    }

    /** Queues a copy of {@code host.byteSize()} bytes from {@code device} into {@code host} on {@code stream}. */
    public void copyToHost(MemorySegment host, long device, MemorySegment stream) {
        long n = host.byteSize();
        cuda.call(cuMemcpyDtoHAsync_v2, h -> (int) h.invokeExact(host, device, n, stream));
    }

    /** Pins {@code host} (page-locks it and maps it for the device) so that copies run at link speed. */
    public void register(MemorySegment host, int flags) {
        long n = host.byteSize();
        cuda.call(cuMemHostRegister_v2, h -> (int) h.invokeExact(host, n, flags));
    }

    /** Undoes {@link #register}. */
    public void unregister(MemorySegment host) {
        cuda.call(cuMemHostUnregister, h -> (int) h.invokeExact(host));
    }
}
