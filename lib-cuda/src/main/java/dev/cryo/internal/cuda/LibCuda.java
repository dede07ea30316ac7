package dev.cryo.internal.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * libcuda's downcall handles, named after the C symbols: the process checkpoint API
 * ({@code cuCheckpointProcess*}, driver r570 / CUDA 12.8 and newer) and the device queries Cryo
 * needs. Loaded lazily; a symbol this driver lacks fails when it is called.
 */
public final class LibCuda {
    /** CUDA 12.8 (driver r570): the first with cuCheckpointProcess* and GPU remapping at restore. */
    public static final int MINIMUM_DRIVER = 12080;
    /** CUprocessState values. */
    public static final int RUNNING = 0, LOCKED = 1, CHECKPOINTED = 2, FAILED = 3;
    static final int CUDA_ERROR_NOT_INITIALIZED = 3;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final FunctionDescriptor PID_ARGS = FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS);
    private static LibCuda loaded;

    private final SymbolLookup lookup;
    final MethodHandle cuInit;
    final MethodHandle cuDriverGetVersion;
    final MethodHandle cuGetErrorName;
    final MethodHandle cuGetErrorString;
    final MethodHandle cuDeviceGetCount;
    final MethodHandle cuDeviceGet;
    final MethodHandle cuDeviceGetName;
    final MethodHandle cuDeviceGetUuid_v2;
    final MethodHandle cuDeviceTotalMem_v2;
    final MethodHandle cuCheckpointProcessGetState;
    final MethodHandle cuCheckpointProcessLock;
    final MethodHandle cuCheckpointProcessCheckpoint;
    final MethodHandle cuCheckpointProcessRestore;
    final MethodHandle cuCheckpointProcessUnlock;

    private LibCuda(SymbolLookup lookup) {
        this.lookup = lookup;
        cuInit = find("cuInit", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        cuDriverGetVersion = find("cuDriverGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuGetErrorName = find("cuGetErrorName", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        cuGetErrorString = find("cuGetErrorString", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        cuDeviceGetCount = find("cuDeviceGetCount", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuDeviceGet = find("cuDeviceGet", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuDeviceGetName = find("cuDeviceGetName", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        cuDeviceGetUuid_v2 = find("cuDeviceGetUuid_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuDeviceTotalMem_v2 = find("cuDeviceTotalMem_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuCheckpointProcessGetState = find("cuCheckpointProcessGetState", PID_ARGS);
        cuCheckpointProcessLock = find("cuCheckpointProcessLock", PID_ARGS);
        cuCheckpointProcessCheckpoint = find("cuCheckpointProcessCheckpoint", PID_ARGS);
        cuCheckpointProcessRestore = find("cuCheckpointProcessRestore", PID_ARGS);
        cuCheckpointProcessUnlock = find("cuCheckpointProcessUnlock", PID_ARGS);
    }

    /**
     * The driver, only if this process already has libcuda mapped: an app that never used CUDA
     * never loads it because of Cryo.
     */
    public static Optional<LibCuda> ifLoadedInProcess() {
        try {
            if (!Files.readString(Path.of("/proc/self/maps")).contains("libcuda.so")) {
                return Optional.empty();
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.of(load());
    }

    /** Loads libcuda.so.1 and checks that its driver has the checkpoint API. */
    @SuppressWarnings("restricted")
    public static synchronized LibCuda load() {
        if (loaded != null) {
            return loaded;
        }
        SymbolLookup lookup;
        try {
            lookup = SymbolLookup.libraryLookup("libcuda.so.1", Arena.global());
        } catch (IllegalArgumentException e) {
            throw new CudaUnavailableException("The NVIDIA driver library libcuda.so.1 is not installed or not on the"
                    + " loader's path (" + e.getMessage() + "): install the NVIDIA driver (r570 or newer) to checkpoint"
                    + " GPU state.", e);
        }
        LibCuda lib = new LibCuda(lookup);
        int version = lib.driverVersion();
        if (version < MINIMUM_DRIVER || lib.cuCheckpointProcessLock == null) {
            throw new CudaUnavailableException("The NVIDIA driver here supports CUDA " + format(version) + "; checkpointing"
                    + " GPU state needs the driver's checkpoint API, in r570 (CUDA 12.8) or newer. Update the driver.");
        }
        loaded = lib;
        return lib;
    }

    /** {@code 12080} as {@code 12.8}. */
    public static String format(int version) {
        return version / 1000 + "." + version % 1000 / 10;
    }

    @SuppressWarnings("restricted")
    MethodHandle find(String name, FunctionDescriptor descriptor) {
        return lookup.find(name).map(s -> LINKER.downcallHandle(s, descriptor)).orElse(null);
    }

    /** The CUDA version the driver supports, as {@code major*1000 + minor*10}. */
    public int driverVersion() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            check("cuDriverGetVersion", (int) require(cuDriverGetVersion, "cuDriverGetVersion").invokeExact(v));
            return v.get(JAVA_INT, 0);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Initializes the driver API (idempotent). */
    public void init() {
        call("cuInit", () -> (int) cuInit.invokeExact(0));
    }

    /** The devices the driver sees, in ordinal order. */
    public List<GpuDevice> devices() {
        init();
        List<GpuDevice> out = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment count = a.allocate(JAVA_INT);
            check("cuDeviceGetCount", (int) cuDeviceGetCount.invokeExact(count));
            for (int i = 0; i < count.get(JAVA_INT, 0); i++) {
                MemorySegment dev = a.allocate(JAVA_INT);
                check("cuDeviceGet", (int) cuDeviceGet.invokeExact(dev, i));
                int d = dev.get(JAVA_INT, 0);
                MemorySegment name = a.allocate(256);
                check("cuDeviceGetName", (int) cuDeviceGetName.invokeExact(name, 256, d));
                MemorySegment uuid = a.allocate(16);
                check("cuDeviceGetUuid_v2", (int) cuDeviceGetUuid_v2.invokeExact(uuid, d));
                MemorySegment mem = a.allocate(JAVA_LONG);
                check("cuDeviceTotalMem_v2", (int) cuDeviceTotalMem_v2.invokeExact(mem, d));
                out.add(new GpuDevice(i, name.getString(0), uuid.toArray(JAVA_BYTE), mem.get(JAVA_LONG, 0)));
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        return out;
    }

    /**
     * The checkpoint state of {@code pid}, or empty when the process has not initialized CUDA
     * (the driver answers CUDA_ERROR_NOT_INITIALIZED: nothing to checkpoint).
     */
    public Optional<Integer> processState(int pid) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(JAVA_INT);
            int rc = (int) require(cuCheckpointProcessGetState, "cuCheckpointProcessGetState").invokeExact(pid, state);
            if (rc == CUDA_ERROR_NOT_INITIALIZED) {
                return Optional.empty();
            }
            check("cuCheckpointProcessGetState", rc);
            return Optional.of(state.get(JAVA_INT, 0));
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Locks {@code pid}'s CUDA state, waiting up to {@code timeoutMs} for running work to finish. */
    public void lock(int pid, int timeoutMs) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment args = a.allocate(64); // CUcheckpointLockArgs: timeoutMs, then reserved zeros
            args.set(JAVA_INT, 0, timeoutMs);
            check("cuCheckpointProcessLock", (int) cuCheckpointProcessLock.invokeExact(pid, args));
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Copies {@code pid}'s device memory to the host and releases the GPU. */
    public void checkpoint(int pid) {
        call("cuCheckpointProcessCheckpoint", () -> (int) cuCheckpointProcessCheckpoint.invokeExact(pid,
                MemorySegment.NULL));
    }

    /** Brings {@code pid}'s CUDA state back onto the GPUs, remapped by {@code pairs} when not empty. */
    public void restore(int pid, List<GpuPair> pairs) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment args = MemorySegment.NULL;
            if (!pairs.isEmpty()) {
                // CUcheckpointGpuPair { CUuuid oldUuid; CUuuid newUuid; } = 32 bytes each.
                MemorySegment array = a.allocate(32L * pairs.size(), 8);
                for (int i = 0; i < pairs.size(); i++) {
                    MemorySegment.copy(MemorySegment.ofArray(pairs.get(i).from().uuid()), 0, array, 32L * i, 16);
                    MemorySegment.copy(MemorySegment.ofArray(pairs.get(i).to().uuid()), 0, array, 32L * i + 16, 16);
                }
                // CUcheckpointRestoreArgs: gpuPairs at 0, gpuPairsCount at 8, the rest reserved zeros.
                args = a.allocate(64, 8);
                args.set(ADDRESS, 0, array);
                args.set(JAVA_INT, 8, pairs.size());
            }
            check("cuCheckpointProcessRestore", (int) cuCheckpointProcessRestore.invokeExact(pid, args));
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Lets {@code pid} use CUDA again. */
    public void unlock(int pid) {
        call("cuCheckpointProcessUnlock", () -> (int) cuCheckpointProcessUnlock.invokeExact(pid, MemorySegment.NULL));
    }

    /** The CUresult's name, such as CUDA_ERROR_NOT_SUPPORTED. */
    public String errorName(int code) {
        return errorText(cuGetErrorName, code);
    }

    private String errorText(MethodHandle handle, int code) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            int rc = (int) handle.invokeExact(code, p);
            return rc == 0 ? cString(p.get(ADDRESS, 0)) : "CUresult " + code;
        } catch (Throwable t) {
            return "CUresult " + code;
        }
    }

    @SuppressWarnings("restricted")
    private static String cString(MemorySegment p) {
        return p.reinterpret(Long.MAX_VALUE).getString(0);
    }

    @FunctionalInterface
    private interface Call {
        int invoke() throws Throwable;
    }

    private void call(String function, Call call) {
        try {
            check(function, call.invoke());
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    void check(String function, int rc) {
        if (rc != 0) {
            throw new CudaException(function, rc, errorName(rc), errorText(cuGetErrorString, rc), null);
        }
    }

    private MethodHandle require(MethodHandle handle, String name) {
        if (handle == null) {
            throw new CudaUnavailableException("This NVIDIA driver has no " + name + ": update it to r570 or newer.");
        }
        return handle;
    }
}
