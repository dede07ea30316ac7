package dev.cryo.internal.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

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
    public static final int NOT_READY = 600;
    /** CUresult CUDA_ERROR_OUT_OF_MEMORY. */
    public static final int OUT_OF_MEMORY = 2;
    /** cuMemHostRegister flag: the device only reads the memory (a read-only file mapping can be registered). */
    public static final int HOST_REGISTER_READ_ONLY = 0x08;
    private static final int ALLOCATION_TYPE_PINNED = 1;
    private static final int LOCATION_TYPE_DEVICE = 1;
    private static final int ACCESS_READ_WRITE = 3;
    private static final int STREAM_NON_BLOCKING = 1;
    private static final int EVENT_DISABLE_TIMING = 2;

    private final LibCuda cuda;
    private final MethodHandle cuDeviceGet;
    private final MethodHandle cuDevicePrimaryCtxRetain;
    private final MethodHandle cuCtxGetCurrent;
    private final MethodHandle cuCtxSetCurrent;
    private final MethodHandle cuMemGetAllocationGranularity;
    private final MethodHandle cuMemAddressReserve;
    private final MethodHandle cuMemAddressFree;
    private final MethodHandle cuMemCreate;
    private final MethodHandle cuMemRelease;
    private final MethodHandle cuMemMap;
    private final MethodHandle cuMemUnmap;
    private final MethodHandle cuMemSetAccess;
    private final MethodHandle cuMemGetInfo;
    private final MethodHandle cuStreamCreate;
    private final MethodHandle cuStreamDestroy;
    private final MethodHandle cuStreamSynchronize;
    private final MethodHandle cuEventCreate;
    private final MethodHandle cuEventRecord;
    private final MethodHandle cuEventSynchronize;
    private final MethodHandle cuEventQuery;
    private final MethodHandle cuEventDestroy;
    private final MethodHandle cuMemcpyHtoDAsync;
    private final MethodHandle cuMemcpyDtoHAsync;
    private final MethodHandle cuMemHostRegister;
    private final MethodHandle cuMemHostUnregister;
    private static CudaMemory loaded;

    private CudaMemory(LibCuda cuda) {
        this.cuda = cuda;
        cuDeviceGet = need("cuDeviceGet", ADDRESS, JAVA_INT);
        cuDevicePrimaryCtxRetain = need("cuDevicePrimaryCtxRetain", ADDRESS, JAVA_INT);
        cuCtxGetCurrent = need("cuCtxGetCurrent", ADDRESS);
        cuCtxSetCurrent = need("cuCtxSetCurrent", ADDRESS);
        cuMemGetAllocationGranularity = need("cuMemGetAllocationGranularity", ADDRESS, ADDRESS, JAVA_INT);
        cuMemAddressReserve = need("cuMemAddressReserve", ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG);
        cuMemAddressFree = need("cuMemAddressFree", JAVA_LONG, JAVA_LONG);
        cuMemCreate = need("cuMemCreate", ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG);
        cuMemRelease = need("cuMemRelease", JAVA_LONG);
        cuMemMap = need("cuMemMap", JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG);
        cuMemUnmap = need("cuMemUnmap", JAVA_LONG, JAVA_LONG);
        cuMemSetAccess = need("cuMemSetAccess", JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG);
        cuMemGetInfo = need("cuMemGetInfo_v2", ADDRESS, ADDRESS);
        cuStreamCreate = need("cuStreamCreate", ADDRESS, JAVA_INT);
        cuStreamDestroy = need("cuStreamDestroy_v2", ADDRESS);
        cuStreamSynchronize = need("cuStreamSynchronize", ADDRESS);
        cuEventCreate = need("cuEventCreate", ADDRESS, JAVA_INT);
        cuEventRecord = need("cuEventRecord", ADDRESS, ADDRESS);
        cuEventSynchronize = need("cuEventSynchronize", ADDRESS);
        cuEventQuery = need("cuEventQuery", ADDRESS);
        cuEventDestroy = need("cuEventDestroy_v2", ADDRESS);
        cuMemcpyHtoDAsync = need("cuMemcpyHtoDAsync_v2", JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS);
        cuMemcpyDtoHAsync = need("cuMemcpyDtoHAsync_v2", ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS);
        cuMemHostRegister = need("cuMemHostRegister_v2", ADDRESS, JAVA_LONG, JAVA_INT);
        cuMemHostUnregister = need("cuMemHostUnregister", ADDRESS);
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

    private MethodHandle need(String name, java.lang.foreign.MemoryLayout... args) {
        MethodHandle h = cuda.find(name, FunctionDescriptor.of(JAVA_INT, args));
        if (h == null) {
            throw new CudaUnavailableException("This NVIDIA driver has no " + name + " (the virtual memory API needs"
                    + " CUDA 10.2 or newer): update the driver.");
        }
        return h;
    }

    @FunctionalInterface
    private interface Call {
        int invoke(Arena a) throws Throwable;
    }

    private void call(String function, Call call) {
        try (Arena a = Arena.ofConfined()) {
            cuda.check(function, call.invoke(a));
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private long callForLong(String function, java.util.function.Function<MemorySegment, Call> call) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            cuda.check(function, call.apply(out).invoke(a));
            return out.get(JAVA_LONG, 0);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** The primary context of device {@code gpu} (retained: it lives as long as the process). */
    public MemorySegment primaryContext(int gpu) {
        int device = (int) callForLong("cuDeviceGet", out -> a -> (int) cuDeviceGet.invokeExact(out, gpu));
        return MemorySegment.ofAddress(callForLong("cuDevicePrimaryCtxRetain",
                out -> a -> (int) cuDevicePrimaryCtxRetain.invokeExact(out, device)));
    }

    /** The calling thread's current context (NULL when none). */
    public MemorySegment currentContext() {
        return MemorySegment.ofAddress(callForLong("cuCtxGetCurrent", out -> a -> (int) cuCtxGetCurrent.invokeExact(out)));
    }

    /** Makes {@code context} current on the calling thread. */
    public void makeCurrent(MemorySegment context) {
        call("cuCtxSetCurrent", a -> (int) cuCtxSetCurrent.invokeExact(context));
    }

    private static MemorySegment allocationProp(Arena a, int gpu) {
        // CUmemAllocationProp: type, requestedHandleTypes, location {type, id}, win32 pointer, allocFlags: 32 bytes.
        MemorySegment prop = a.allocate(32, 8);
        prop.set(JAVA_INT, 0, ALLOCATION_TYPE_PINNED);
        prop.set(JAVA_INT, 8, LOCATION_TYPE_DEVICE);
        prop.set(JAVA_INT, 12, gpu);
        return prop;
    }

    /** The size every mapping on {@code gpu} is a multiple of (2 MiB on current GPUs). */
    public long granularity(int gpu) {
        return callForLong("cuMemGetAllocationGranularity",
                out -> a -> (int) cuMemGetAllocationGranularity.invokeExact(out, allocationProp(a, gpu), 0));
    }

    /** Reserves {@code bytes} of device address space (a multiple of the granularity). */
    public long reserve(long bytes, long alignment) {
        return callForLong("cuMemAddressReserve",
                out -> a -> (int) cuMemAddressReserve.invokeExact(out, bytes, alignment, 0L, 0L));
    }

    /** Gives a reserved range back. */
    public void freeAddress(long address, long bytes) {
        call("cuMemAddressFree", a -> (int) cuMemAddressFree.invokeExact(address, bytes));
    }

    /**
     * Creates {@code bytes} of physical memory on {@code gpu}, maps it at {@code address} (inside a
     * reservation) and makes it readable and writable from that GPU. On failure nothing is left
     * created or mapped.
     *
     * @return the allocation handle, for {@link #unmapAndRelease}
     */
    public long createAndMap(int gpu, long address, long bytes) {
        long handle = callForLong("cuMemCreate",
                out -> a -> (int) cuMemCreate.invokeExact(out, bytes, allocationProp(a, gpu), 0L));
        try {
            call("cuMemMap", a -> (int) cuMemMap.invokeExact(address, bytes, 0L, handle, 0L));
        } catch (RuntimeException e) {
            releaseQuietly(handle, e);
            throw e;
        }
        try {
            call("cuMemSetAccess", a -> {
                // CUmemAccessDesc: location {type, id}, flags: 12 bytes.
                MemorySegment desc = a.allocate(12, 4);
                desc.set(JAVA_INT, 0, LOCATION_TYPE_DEVICE);
                desc.set(JAVA_INT, 4, gpu);
                desc.set(JAVA_INT, 8, ACCESS_READ_WRITE);
                return (int) cuMemSetAccess.invokeExact(address, bytes, desc, 1L);
            });
        } catch (RuntimeException e) {
            try {
                call("cuMemUnmap", a -> (int) cuMemUnmap.invokeExact(address, bytes));
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
            call("cuMemRelease", a -> (int) cuMemRelease.invokeExact(handle));
        } catch (RuntimeException r) {
            cause.addSuppressed(r);
        }
    }

    /** Unmaps {@code address} and releases the physical memory; the address range stays reserved. */
    public void unmapAndRelease(long address, long bytes, long handle) {
        call("cuMemUnmap", a -> (int) cuMemUnmap.invokeExact(address, bytes));
        call("cuMemRelease", a -> (int) cuMemRelease.invokeExact(handle));
    }

    /** Free and total device memory of the current context's GPU, in bytes. */
    public long[] memoryInfo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment free = a.allocate(JAVA_LONG);
            MemorySegment total = a.allocate(JAVA_LONG);
            cuda.check("cuMemGetInfo_v2", (int) cuMemGetInfo.invokeExact(free, total));
            return new long[] {free.get(JAVA_LONG, 0), total.get(JAVA_LONG, 0)};
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** A new non-blocking stream in the current context. */
    public MemorySegment newStream() {
        return MemorySegment.ofAddress(callForLong("cuStreamCreate",
                out -> a -> (int) cuStreamCreate.invokeExact(out, STREAM_NON_BLOCKING)));
    }

    /** Waits for everything queued on {@code stream}. */
    public void synchronize(MemorySegment stream) {
        call("cuStreamSynchronize", a -> (int) cuStreamSynchronize.invokeExact(stream));
    }

    /** Destroys a stream. */
    public void destroyStream(MemorySegment stream) {
        call("cuStreamDestroy_v2", a -> (int) cuStreamDestroy.invokeExact(stream));
    }

    /** A new event without timing, in the current context. */
    public MemorySegment newEvent() {
        return MemorySegment.ofAddress(callForLong("cuEventCreate",
                out -> a -> (int) cuEventCreate.invokeExact(out, EVENT_DISABLE_TIMING)));
    }

    /** Records {@code event} on {@code stream}: it completes once the work queued before it has. */
    public void record(MemorySegment event, MemorySegment stream) {
        call("cuEventRecord", a -> (int) cuEventRecord.invokeExact(event, stream));
    }

    /** Waits until {@code event} completed. */
    public void await(MemorySegment event) {
        call("cuEventSynchronize", a -> (int) cuEventSynchronize.invokeExact(event));
    }

    /** Whether {@code event} completed, without waiting. */
    public boolean reached(MemorySegment event) {
        try {
            int rc = (int) cuEventQuery.invokeExact(event);
            if (rc == NOT_READY) {
                return false;
            }
            cuda.check("cuEventQuery", rc);
            return true;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Destroys an event. */
    public void destroyEvent(MemorySegment event) {
        call("cuEventDestroy_v2", a -> (int) cuEventDestroy.invokeExact(event));
    }

    /** Queues a copy of {@code host} to {@code device} on {@code stream}. */
    public void copyToDevice(long device, MemorySegment host, MemorySegment stream) {
        long n = host.byteSize();
        call("cuMemcpyHtoDAsync_v2", a -> (int) cuMemcpyHtoDAsync.invokeExact(device, host, n, stream));
    }

    /** Queues a copy of {@code host.byteSize()} bytes from {@code device} into {@code host} on {@code stream}. */
    public void copyToHost(MemorySegment host, long device, MemorySegment stream) {
        long n = host.byteSize();
        call("cuMemcpyDtoHAsync_v2", a -> (int) cuMemcpyDtoHAsync.invokeExact(host, device, n, stream));
    }

    /** Pins {@code host} (page-locks it and maps it for the device) so that copies run at link speed. */
    public void register(MemorySegment host, int flags) {
        long n = host.byteSize();
        call("cuMemHostRegister_v2", a -> (int) cuMemHostRegister.invokeExact(host, n, flags));
    }

    /** Undoes {@link #register}. */
    public void unregister(MemorySegment host) {
        call("cuMemHostUnregister", a -> (int) cuMemHostUnregister.invokeExact(host));
    }
}
