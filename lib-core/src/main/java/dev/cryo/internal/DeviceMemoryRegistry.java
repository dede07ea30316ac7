package dev.cryo.internal;

import dev.cryo.internal.cuda.CudaMemory;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntFunction;

/**
 * The device memory Cryo moves itself ({@code dev.cryo.DeviceMemory}): every live allocation, and
 * one checkpoint's {@link Move} of them. One lock guards it all: allocations, fills and frees wait
 * while a checkpoint moves the memory.
 */
public final class DeviceMemoryRegistry {
    private static final ReentrantLock LOCK = new ReentrantLock();
    private static final List<Allocation> LIVE = new ArrayList<>();
    private static Backend backend; // CUDA's, made on first use

    /**
     * What the registry asks of the GPUs: CUDA's virtual memory API ({@link #cuda()}), each call in
     * the primary context of its GPU. Tests of the checkpoint steps on machines without a GPU give
     * one over host memory ({@link #useBackend}); it is never a proof of the GPU path.
     */
    public interface Backend {
        /** The size every mapping on {@code gpu} is a multiple of. */
        long granularity(int gpu);

        /** Reserves {@code bytes} of device addresses. */
        long reserve(int gpu, long bytes, long alignment);

        /** Gives a reservation back. */
        void freeAddress(int gpu, long address, long bytes);

        /** Creates physical memory and maps it at {@code address}; returns its handle. */
        long createAndMap(int gpu, long address, long bytes);

        /** Unmaps and releases it; the reservation stays. */
        void unmapAndRelease(int gpu, long address, long bytes, long handle);

        /** The device side of the pipelines, one per GPU. */
        IntFunction<DeviceCopies> copies();
    }

    /** Replaces the backend (tests without a GPU); {@code null} goes back to CUDA's. */
    public static void useBackend(Backend b) {
        LOCK.lock();
        try {
            backend = b;
        } finally {
            LOCK.unlock();
        }
    }

    private DeviceMemoryRegistry() {}

    /** One allocation: a reserved address range with physical memory mapped there (or not, while moved). */
    public static final class Allocation {
        private final int gpu;
        private final long address;
        private final long bytes;
        private final long mappedBytes;
        private long handle; // 0 while released around a checkpoint
        private boolean closed;

        private Allocation(int gpu, long address, long bytes, long mappedBytes, long handle) {
            this.gpu = gpu;
            this.address = address;
            this.bytes = bytes;
            this.mappedBytes = mappedBytes;
            this.handle = handle;
        }

        /** The device address. */
        public long address() {
            return address;
        }

        /** The size asked for. */
        public long bytes() {
            return bytes;
        }

        /** The GPU's ordinal. */
        public int gpu() {
            return gpu;
        }

        boolean isMapped() {
            return handle != 0;
        }

        DeviceMemoryFiles.Range range() {
            return new DeviceMemoryFiles.Range(gpu, address, bytes);
        }

        void release() {
            call("release device memory " + this, b -> {
                b.unmapAndRelease(gpu, address, mappedBytes, handle);
                handle = 0;
                return null;
            });
        }

        void map() {
            call("map device memory again at " + this, b -> {
                handle = b.createAndMap(gpu, address, mappedBytes);
                return null;
            });
        }

        /** Fills it with the first {@link #bytes()} bytes of {@code file}, through the pinned pipeline. */
        public void read(Path file) throws IOException {
            LOCK.lock();
            try {
                if (closed) {
                    throw new IllegalStateException(this + " is closed");
                }
                DeviceMemoryFiles.fill(gpu, address, bytes, file, call("read " + file + " into " + this,
                        Backend::copies), DeviceMemoryFiles.Settings.fromSystemProperties());
            } finally {
                LOCK.unlock();
            }
        }

        /** Unmaps and frees it and its address range; later calls do nothing. */
        public void close() {
            LOCK.lock();
            try {
                if (closed) {
                    return;
                }
                call("free device memory " + this, b -> {
                    if (handle != 0) {
                        b.unmapAndRelease(gpu, address, mappedBytes, handle);
                        handle = 0;
                    }
                    b.freeAddress(gpu, address, mappedBytes);
                    return null;
                });
                closed = true;
                LIVE.remove(this);
            } finally {
                LOCK.unlock();
            }
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "DeviceMemory[gpu %d, 0x%x, %d bytes]", gpu, address, bytes);
        }
    }

    /**
     * Allocates {@code bytes} on {@code gpu}: an address range reserved, physical memory created and
     * mapped there, readable and writable from that GPU.
     *
     * @throws IllegalStateException naming the CUDA call and its error
     */
    public static Allocation allocate(int gpu, long bytes) {
        LOCK.lock();
        try {
            return call("allocate " + bytes + " bytes of device memory on GPU " + gpu, b -> {
                long granularity = b.granularity(gpu);
                long size = (bytes + granularity - 1) / granularity * granularity;
                long address = b.reserve(gpu, size, granularity);
                long handle;
                try {
                    handle = b.createAndMap(gpu, address, size);
                } catch (RuntimeException e) {
                    try {
                        b.freeAddress(gpu, address, size);
                    } catch (RuntimeException f) {
                        e.addSuppressed(f);
                    }
                    throw e;
                }
                Allocation a = new Allocation(gpu, address, bytes, size, handle);
                LIVE.add(a);
                return a;
            });
        } finally {
            LOCK.unlock();
        }
    }

    /** The bytes of all live allocations: what a checkpoint writes into the image for them. */
    public static long liveBytes() {
        LOCK.lock();
        try {
            return LIVE.stream().mapToLong(Allocation::bytes).sum();
        } finally {
            LOCK.unlock();
        }
    }

    private interface Call<T> {
        T call(Backend b);
    }

    /** Runs {@code call} on the backend; a failure says what could not be done. */
    private static <T> T call(String what, Call<T> call) {
        Backend b;
        try {
            b = backend != null ? backend : (backend = cuda());
            return call.call(b);
        } catch (RuntimeException e) {
            throw new IllegalStateException("Cannot " + what + ": " + e.getMessage(), e);
        }
    }

    /** CUDA's virtual memory API: each call with the primary context of its GPU current, the thread's own put back. */
    static Backend cuda() {
        CudaMemory cuda = CudaMemory.load();
        return new Backend() {
            @Override
            public long granularity(int gpu) {
                return onGpu(cuda, gpu, () -> cuda.granularity(gpu));
            }

            @Override
            public long reserve(int gpu, long bytes, long alignment) {
                return onGpu(cuda, gpu, () -> cuda.reserve(bytes, alignment));
            }

            @Override
            public void freeAddress(int gpu, long address, long bytes) {
                onGpu(cuda, gpu, () -> {
                    cuda.freeAddress(address, bytes);
                    return null;
                });
            }

            @Override
            public long createAndMap(int gpu, long address, long bytes) {
                return onGpu(cuda, gpu, () -> cuda.createAndMap(gpu, address, bytes));
            }

            @Override
            public void unmapAndRelease(int gpu, long address, long bytes, long handle) {
                onGpu(cuda, gpu, () -> {
                    cuda.unmapAndRelease(address, bytes, handle);
                    return null;
                });
            }

            @Override
            public IntFunction<DeviceCopies> copies() {
                DeviceMemoryFiles.Settings s = DeviceMemoryFiles.Settings.fromSystemProperties();
                return g -> new CudaCopies(cuda, g, s.streams(), s.slots());
            }
        };
    }

    /**
     * Runs {@code call} with the primary context of {@code gpu} current on this thread, then puts
     * back the context the thread had, so that the app's own CUDA code is not disturbed.
     */
    private static <T> T onGpu(CudaMemory cuda, int gpu, java.util.function.Supplier<T> call) {
        MemorySegment before = cuda.currentContext();
        try {
            cuda.makeCurrent(cuda.primaryContext(gpu));
            return call.get();
        } finally {
            try {
                cuda.makeCurrent(before);
            } catch (RuntimeException ignored) {
                // the thread's old context is gone: nothing to put back
            }
        }
    }

    /**
     * One checkpoint's move of the live device memory: copied into files of the image and released
     * before the driver's checkpoint; mapped at the same addresses and filled again in whichever
     * process goes on, or after a failure on the way. Holds the registry's lock from
     * {@link #begin()} to {@link #end()}.
     */
    public static final class Move {
        private final List<Allocation> memory;
        private DeviceMemoryFiles.Layout layout = DeviceMemoryFiles.Layout.NONE;

        private Move(List<Allocation> memory) {
            this.memory = memory;
        }

        /** Takes the lock and the list of live memory. */
        public static Move begin() {
            LOCK.lock();
            return new Move(List.copyOf(LIVE));
        }

        /** Lets allocations and frees go on. */
        public void end() {
            if (LOCK.isHeldByCurrentThread()) {
                LOCK.unlock();
            }
        }

        /** Whether there is no memory to move. */
        public boolean isEmpty() {
            return memory.isEmpty();
        }

        /** The bytes moved. */
        public long bytes() {
            return memory.stream().mapToLong(Allocation::bytes).sum();
        }

        /** Whether some memory is released now, and must be filled again. */
        public boolean released() {
            return memory.stream().anyMatch(m -> !m.isMapped());
        }

        /** Where the memory is in the image's files; empty before the copy. */
        public DeviceMemoryFiles.Layout layout() {
            return layout;
        }

        /**
         * Copies every live allocation into files in {@code dir}, then releases it (its address
         * kept). On a failure nothing stays released: what was released is filled again.
         */
        public DeviceMemoryFiles.Layout copyOutAndRelease(Path dir) throws IOException {
            List<DeviceMemoryFiles.Range> ranges = memory.stream().map(Allocation::range).toList();
            layout = DeviceMemoryFiles.save(ranges, dir, call("copy device memory out", Backend::copies),
                    DeviceMemoryFiles.Settings.fromSystemProperties());
            try {
                for (Allocation m : memory) {
                    m.release();
                }
            } catch (RuntimeException e) {
                try {
                    mapAndFill(dir);
                } catch (IOException | RuntimeException f) {
                    e.addSuppressed(f);
                }
                throw e;
            }
            return layout;
        }

        /**
         * Maps every released allocation again at its address and fills all of them from the files
         * in {@code dir}.
         *
         * @throws IOException           when a file is missing, short or corrupt (named)
         * @throws IllegalStateException when the GPU refuses (out of device memory, say), naming the memory
         */
        public void mapAndFill(Path dir) throws IOException {
            if (layout.isEmpty()) {
                return;
            }
            for (Allocation a : memory) {
                if (!a.isMapped()) {
                    a.map();
                }
            }
            DeviceMemoryFiles.load(layout, dir, call("fill device memory", Backend::copies),
                    DeviceMemoryFiles.Settings.fromSystemProperties());
        }
    }
}
