package dev.cryo.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Private anonymous memory straight from {@code mmap}: not zeroed by the JVM first (an arena's
 * allocation writes every byte, faulting every page in before the pinning does it again), and
 * given back to the kernel at once by {@link #unmap}.
 */
@SuppressWarnings("restricted")
final class AnonymousMemory {
    private static final int PROT_READ_WRITE = 3;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;

    static {
        Linker linker = Linker.nativeLinker();
        var libc = linker.defaultLookup();
        MMAP = linker.downcallHandle(libc.find("mmap").orElseThrow(),
                FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
        MUNMAP = linker.downcallHandle(libc.find("munmap").orElseThrow(), FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
    }

    private AnonymousMemory() {}

    /** {@code bytes} of new memory, page-aligned. */
    static MemorySegment map(long bytes) {
        MemorySegment p;
        try {
            p = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, bytes, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("mmap failed", t);
        }
        if (p.address() == -1L) {
            throw new IllegalStateException("mmap of " + bytes + " bytes of host memory failed (out of memory?)");
        }
        return p.reinterpret(bytes);
    }

    /** Gives {@code memory} back. */
    static void unmap(MemorySegment memory) {
        try {
            int ignored = (int) MUNMAP.invokeExact(memory, memory.byteSize());
        } catch (Throwable t) {
            throw new IllegalStateException("munmap failed", t);
        }
    }
}
