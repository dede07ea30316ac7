package dev.cryo.samples.gpu;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

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

/** The sample's own small bindings: the CUDA driver API calls a model server makes, and NVRTC. */
final class Cuda {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup CU = lookup("libcuda.so.1");
    private static SymbolLookup nvrtc;

    static final MethodHandle cuInit = cu("cuInit", JAVA_INT);
    static final MethodHandle cuDeviceGet = cu("cuDeviceGet", ADDRESS, JAVA_INT);
    static final MethodHandle cuDeviceGetName = cu("cuDeviceGetName", ADDRESS, JAVA_INT, JAVA_INT);
    static final MethodHandle cuDevicePrimaryCtxRetain = cu("cuDevicePrimaryCtxRetain", ADDRESS, JAVA_INT);
    static final MethodHandle cuCtxSetCurrent = cu("cuCtxSetCurrent", ADDRESS);
    static final MethodHandle cuCtxSynchronize = cu("cuCtxSynchronize");
    static final MethodHandle cuMemAlloc_v2 = cu("cuMemAlloc_v2", ADDRESS, JAVA_LONG);
    static final MethodHandle cuMemAllocManaged = cu("cuMemAllocManaged", ADDRESS, JAVA_LONG, JAVA_INT);
    static final MethodHandle cuMemHostAlloc = cu("cuMemHostAlloc", ADDRESS, JAVA_LONG, JAVA_INT);
    static final MethodHandle cuMemFreeHost = cu("cuMemFreeHost", ADDRESS);
    static final MethodHandle cuMemcpyHtoD_v2 = cu("cuMemcpyHtoD_v2", JAVA_LONG, ADDRESS, JAVA_LONG);
    static final MethodHandle cuMemcpyDtoH_v2 = cu("cuMemcpyDtoH_v2", ADDRESS, JAVA_LONG, JAVA_LONG);
    static final MethodHandle cuMemsetD8_v2 = cu("cuMemsetD8_v2", JAVA_LONG, java.lang.foreign.ValueLayout.JAVA_BYTE, JAVA_LONG);
    static final MethodHandle cuModuleLoadData = cu("cuModuleLoadData", ADDRESS, ADDRESS);
    static final MethodHandle cuModuleGetFunction = cu("cuModuleGetFunction", ADDRESS, ADDRESS, ADDRESS);
    static final MethodHandle cuLaunchKernel = cu("cuLaunchKernel", ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
            JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
    static final MethodHandle cuCtxGetDevice = cu("cuCtxGetDevice", ADDRESS);
    static final MethodHandle cuDeviceGetUuid_v2 = cu("cuDeviceGetUuid_v2", ADDRESS, JAVA_INT);
    static final MethodHandle cuStreamCreate = cu("cuStreamCreate", ADDRESS, JAVA_INT);
    static final MethodHandle cuStreamSynchronize = cu("cuStreamSynchronize", ADDRESS);
    static final MethodHandle cuStreamBeginCapture_v2 = cu("cuStreamBeginCapture_v2", ADDRESS, JAVA_INT);
    static final MethodHandle cuStreamEndCapture = cu("cuStreamEndCapture", ADDRESS, ADDRESS);
    static final MethodHandle cuGraphInstantiateWithFlags = cu("cuGraphInstantiateWithFlags", ADDRESS, ADDRESS, JAVA_LONG);
    static final MethodHandle cuGraphLaunch = cu("cuGraphLaunch", ADDRESS, ADDRESS);
    static final MethodHandle cuGetErrorName = cu("cuGetErrorName", JAVA_INT, ADDRESS);

    private Cuda() {}

    @SuppressWarnings("restricted")
    private static SymbolLookup lookup(String lib) {
        return SymbolLookup.libraryLookup(lib, Arena.global());
    }

    @SuppressWarnings("restricted")
    private static MethodHandle cu(String name, java.lang.foreign.MemoryLayout... args) {
        return LINKER.downcallHandle(CU.find(name).orElseThrow(() -> new IllegalStateException("libcuda lacks " + name)),
                FunctionDescriptor.of(JAVA_INT, args));
    }

    @SuppressWarnings("restricted")
    static MethodHandle nvrtc(String name, java.lang.foreign.MemoryLayout... args) {
        if (nvrtc == null) {
            nvrtc = SymbolLookup.libraryLookup(findNvrtc(), Arena.global());
        }
        return LINKER.downcallHandle(nvrtc.find(name).orElseThrow(() -> new IllegalStateException("nvrtc lacks " + name)),
                FunctionDescriptor.of(JAVA_INT, args));
    }

    /** libnvrtc: $CRYO_NVRTC, the CUDA toolkit's folders, then pip's nvidia packages. */
    static Path findNvrtc() {
        String env = System.getenv("CRYO_NVRTC");
        if (env != null) {
            return Path.of(env);
        }
        List<Path> dirs = new ArrayList<>(List.of(Path.of("/usr/local/cuda/lib64"),
                Path.of("/usr/local/cuda/targets/x86_64-linux/lib")));
        for (String site : new String[] {"/opt/torch/.venv/lib/python3.12/site-packages", "/usr/lib/python3/dist-packages"}) {
            dirs.add(Path.of(site, "nvidia/cu13/lib"));
            dirs.add(Path.of(site, "nvidia/cuda_nvrtc/lib"));
        }
        for (Path dir : dirs) {
            try (var s = Files.newDirectoryStream(dir, "libnvrtc.so.*")) {
                for (Path p : s) {
                    if (!p.getFileName().toString().contains("builtins")) {
                        return p;
                    }
                }
            } catch (java.io.IOException e) {
                // not there
            }
        }
        throw new IllegalStateException("libnvrtc not found: set CRYO_NVRTC to its path");
    }

    /** Throws with the CUresult's name when {@code rc} is not CUDA_SUCCESS. */
    static void check(String what, int rc) {
        if (rc != 0) {
            String name = "CUresult " + rc;
            try (Arena a = Arena.ofConfined()) {
                MemorySegment p = a.allocate(ADDRESS);
                if ((int) cuGetErrorName.invokeExact(rc, p) == 0) {
                    name = cString(p.get(ADDRESS, 0));
                }
            } catch (Throwable t) {
                // keep the number
            }
            throw new IllegalStateException(what + " failed: " + name);
        }
    }

    @SuppressWarnings("restricted")
    static String cString(MemorySegment p) {
        return p.reinterpret(Long.MAX_VALUE).getString(0);
    }

    @SuppressWarnings("restricted")
    static MemorySegment sized(MemorySegment p, long size) {
        return p.reinterpret(size);
    }
}
