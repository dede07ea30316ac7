package dev.cryo.internal.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * libcuda's functions, named after the C symbols: the process checkpoint API
 * ({@code cuCheckpointProcess*}, driver r570 / CUDA 12.8 and newer) and the device queries Cryo
 * needs. Loaded lazily; each handle is made on first use, and a symbol this driver lacks fails
 * when it is called, with a {@link MissingSymbolException} that names the release that has it.
 */
public final class LibCuda {
    /** CUprocessState values. */
    public static final int RUNNING = 0, LOCKED = 1, CHECKPOINTED = 2, FAILED = 3;
    static final int CUDA_ERROR_NOT_INITIALIZED = 3;
    /** The release of the oldest driver API calls Cryo makes (the _v2 entry points included). */
    static final String DRIVER_API = "CUDA 4.0";
    private static LibCuda loaded;

    private final NativeLibrary lib;
    private final NativeLibrary.Function cuInit;
    private final NativeLibrary.Function cuDriverGetVersion;
    private final NativeLibrary.Function cuGetErrorName;
    private final NativeLibrary.Function cuGetErrorString;
    private final NativeLibrary.Function cuDeviceGetCount;
    private final NativeLibrary.Function cuDeviceGet;
    private final NativeLibrary.Function cuDeviceGetName;
    private final NativeLibrary.Function cuDeviceGetUuid_v2;
    private final NativeLibrary.Function cuDeviceTotalMem_v2;
    private final NativeLibrary.Function cuCheckpointProcessGetState;
    private final NativeLibrary.Function cuCheckpointProcessLock;
    private final NativeLibrary.Function cuCheckpointProcessCheckpoint;
    private final NativeLibrary.Function cuCheckpointProcessRestore;
    private final NativeLibrary.Function cuCheckpointProcessUnlock;

    private LibCuda(NativeLibrary lib) {
        this.lib = lib;
        cuInit = function("cuInit", DRIVER_API, JAVA_INT);
        cuDriverGetVersion = function("cuDriverGetVersion", DRIVER_API, ADDRESS);
        cuGetErrorName = function("cuGetErrorName", "CUDA 6.0", JAVA_INT, ADDRESS);
        cuGetErrorString = function("cuGetErrorString", "CUDA 6.0", JAVA_INT, ADDRESS);
        cuDeviceGetCount = function("cuDeviceGetCount", DRIVER_API, ADDRESS);
        cuDeviceGet = function("cuDeviceGet", DRIVER_API, ADDRESS, JAVA_INT);
        cuDeviceGetName = function("cuDeviceGetName", DRIVER_API, ADDRESS, JAVA_INT, JAVA_INT);
        cuDeviceGetUuid_v2 = function("cuDeviceGetUuid_v2", "driver r470 / CUDA 11.4", ADDRESS, JAVA_INT);
        cuDeviceTotalMem_v2 = function("cuDeviceTotalMem_v2", DRIVER_API, ADDRESS, JAVA_INT);
        String checkpoint = DriverVersion.CHECKPOINT_API_RELEASE;
        cuCheckpointProcessGetState = function("cuCheckpointProcessGetState", checkpoint, JAVA_INT, ADDRESS);
        cuCheckpointProcessLock = function("cuCheckpointProcessLock", checkpoint, JAVA_INT, ADDRESS);
        cuCheckpointProcessCheckpoint = function("cuCheckpointProcessCheckpoint", checkpoint, JAVA_INT, ADDRESS);
        cuCheckpointProcessRestore = function("cuCheckpointProcessRestore", checkpoint, JAVA_INT, ADDRESS);
        cuCheckpointProcessUnlock = function("cuCheckpointProcessUnlock", checkpoint, JAVA_INT, ADDRESS);
    }

    /** A driver API function: it returns a CUresult. */
    NativeLibrary.Function function(String symbol, String since, MemoryLayout... arguments) {
        return lib.function(symbol, since, FunctionDescriptor.of(JAVA_INT, arguments));
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
    public static synchronized LibCuda load() {
        if (loaded != null) {
            return loaded;
        }
        NativeLibrary library;
        try {
            library = NativeLibrary.load("libcuda.so.1", "Update the NVIDIA driver.");
        } catch (IllegalArgumentException e) {
            throw new CudaUnavailableException("The NVIDIA driver library libcuda.so.1 is not installed or not on the"
                    + " loader's path (" + e.getMessage() + "): install the NVIDIA driver (r570 or newer) to checkpoint"
                    + " GPU state.", e);
        }
        LibCuda lib = new LibCuda(library);
        int version = lib.driverVersion();
        if (version < DriverVersion.CHECKPOINT_API || !lib.cuCheckpointProcessLock.exists()) {
            throw new CudaUnavailableException("The NVIDIA driver here supports CUDA " + DriverVersion.format(version)
                    + "; checkpointing"
                    + " GPU state needs the driver's checkpoint API, in r570 (CUDA 12.8) or newer. Update the driver.");
        }
        loaded = lib;
        return lib;
    }

    /** Calls {@code function}; a CUresult other than CUDA_SUCCESS throws {@link CudaException}. */
    void call(NativeLibrary.Function function, NativeLibrary.IntCall call) {
        check(function.symbol(), function.invokeInt(call));
    }

    /** Calls {@code function} with a pointer to one long for it to fill, and returns that long. */
    long callForLong(NativeLibrary.Function function, OutCall call) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            call(function, h -> call.on(h, out, a));
            return out.get(JAVA_LONG, 0);
        }
    }

    /** A call that writes its result through {@code out}; {@code arena} is for its other arguments. */
    @FunctionalInterface
    interface OutCall {
        int on(java.lang.invoke.MethodHandle handle, MemorySegment out, Arena arena) throws Throwable;
    }

    /** The CUDA version the driver supports, as {@code major*1000 + minor*10}. */
    public int driverVersion() {
        return (int) callForLong(cuDriverGetVersion, (h, out, a) -> (int) h.invokeExact(out));
    }

    /** Initializes the driver API (idempotent). */
    public void init() {
        call(cuInit, h -> (int) h.invokeExact(0));
    }

    /** The devices the driver sees, in ordinal order. */
    public List<GpuDevice> devices() {
        init();
        List<GpuDevice> out = new ArrayList<>();
        int count = (int) callForLong(cuDeviceGetCount, (h, n, a) -> (int) h.invokeExact(n));
        try (Arena a = Arena.ofConfined()) {
            for (int i = 0; i < count; i++) {
                int ordinal = i;
                int d = (int) callForLong(cuDeviceGet, (h, dev, x) -> (int) h.invokeExact(dev, ordinal));
                MemorySegment name = a.allocate(256);
                call(cuDeviceGetName, h -> (int) h.invokeExact(name, 256, d));
                MemorySegment uuid = a.allocate(CudaStructs.UUID);
                call(cuDeviceGetUuid_v2, h -> (int) h.invokeExact(uuid, d));
                long memory = callForLong(cuDeviceTotalMem_v2, (h, mem, x) -> (int) h.invokeExact(mem, d));
                out.add(new GpuDevice(i, name.getString(0), uuid.toArray(JAVA_BYTE), memory));
            }
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
            int rc = cuCheckpointProcessGetState.invokeInt(h -> (int) h.invokeExact(pid, state));
            if (rc == CUDA_ERROR_NOT_INITIALIZED) {
                return Optional.empty();
            }
            check(cuCheckpointProcessGetState.symbol(), rc);
            return Optional.of(state.get(JAVA_INT, 0));
        }
    }

    /** Locks {@code pid}'s CUDA state, waiting up to {@code timeoutMs} for running work to finish. */
    public void lock(int pid, int timeoutMs) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment args = a.allocate(CudaStructs.LOCK_ARGS); // zeroed: the reserved fields must be
            CudaStructs.LOCK_TIMEOUT_MS.set(args, 0L, timeoutMs);
            call(cuCheckpointProcessLock, h -> (int) h.invokeExact(pid, args));
        }
    }

    /** Copies {@code pid}'s device memory to the host and releases the GPU. */
    public void checkpoint(int pid) {
        call(cuCheckpointProcessCheckpoint, h -> (int) h.invokeExact(pid, MemorySegment.NULL));
    }

    /** Brings {@code pid}'s CUDA state back onto the GPUs, remapped by {@code pairs} when not empty. */
    public void restore(int pid, List<GpuPair> pairs) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment args = MemorySegment.NULL;
            if (!pairs.isEmpty()) {
                MemorySegment array = a.allocate(CudaStructs.GPU_PAIR, pairs.size());
                long uuid = CudaStructs.UUID.byteSize();
                for (int i = 0; i < pairs.size(); i++) {
                    MemorySegment pair = array.asSlice(i * CudaStructs.GPU_PAIR.byteSize(), CudaStructs.GPU_PAIR);
                    MemorySegment.copy(MemorySegment.ofArray(pairs.get(i).from().uuid()), 0, pair, 0, uuid);
                    MemorySegment.copy(MemorySegment.ofArray(pairs.get(i).to().uuid()), 0, pair, uuid, uuid);
                }
                args = a.allocate(CudaStructs.RESTORE_ARGS);
                CudaStructs.RESTORE_GPU_PAIRS.set(args, 0L, array);
                CudaStructs.RESTORE_GPU_PAIRS_COUNT.set(args, 0L, pairs.size());
            }
            MemorySegment restoreArgs = args;
            call(cuCheckpointProcessRestore, h -> (int) h.invokeExact(pid, restoreArgs));
        }
    }

    /** Lets {@code pid} use CUDA again. */
    public void unlock(int pid) {
        call(cuCheckpointProcessUnlock, h -> (int) h.invokeExact(pid, MemorySegment.NULL));
    }

    /** The CUresult's name, such as CUDA_ERROR_NOT_SUPPORTED. */
    private String errorName(int code) {
        return errorText(cuGetErrorName, code);
    }

    private String errorText(NativeLibrary.Function function, int code) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            int rc = function.invokeInt(h -> (int) h.invokeExact(code, p));
            return rc == 0 ? NativeLibrary.cString(p.get(ADDRESS, 0)) : "CUresult " + code;
        } catch (RuntimeException e) { // a driver without it: the number must do
            return "CUresult " + code;
        }
    }

    void check(String function, int rc) {
        if (rc != 0) {
            throw new CudaException(function, rc, errorName(rc), errorText(cuGetErrorString, rc), null);
        }
    }
}
