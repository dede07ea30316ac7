package dev.cryo.benchmarks;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

/**
 * The page-fault floor of this machine, the Java/FFM twin of device-lab/touch.c: maps fresh
 * anonymous memory and writes one byte per 4 KiB page (each write faults a new page in), with and
 * without MADV_HUGEPAGE, then writes the same memory again (no faults). An eager restore puts every
 * page of the image into fresh memory, so {@code image bytes / 4096 x time per fault} is the least
 * it can take on this machine, whatever CRIU does. Prints {@code key=value} lines.
 * Usage: {@code java --enable-native-access=ALL-UNNAMED -cp benchmarks.jar dev.cryo.benchmarks.PageFaultFloor [MiB]}
 */
public final class PageFaultFloor {
    private static final int PROT_RW = 0x1 | 0x2;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
    private static final int MADV_HUGEPAGE = 14;
    private static final long PAGE = 4096, HUGE = 2L << 20;

    private PageFaultFloor() {}

    @SuppressWarnings("restricted")
    public static void main(String[] args) throws Throwable {
        long bytes = (args.length > 0 ? Long.parseLong(args[0]) : 512) << 20;
        Linker linker = Linker.nativeLinker();
        MethodHandle mmap = linker.downcallHandle(linker.defaultLookup().find("mmap").orElseThrow(),
                FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
        MethodHandle munmap = linker.downcallHandle(linker.defaultLookup().find("munmap").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        MethodHandle madvise = linker.downcallHandle(linker.defaultLookup().find("madvise").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
        for (int round = 0; round < 2; round++) { // the first round warms the JIT; the second is reported
            for (boolean huge : new boolean[] {false, true}) {
                MemorySegment raw = (MemorySegment) mmap.invokeExact(MemorySegment.NULL, bytes + HUGE, PROT_RW,
                        MAP_PRIVATE_ANONYMOUS, -1, 0L);
                if (raw.address() == -1L) {
                    throw new IllegalStateException("mmap of " + bytes + " bytes failed");
                }
                long aligned = (raw.address() + HUGE - 1) & -HUGE;
                MemorySegment mem = MemorySegment.ofAddress(aligned).reinterpret(bytes);
                if (huge && (int) madvise.invokeExact(mem, bytes, MADV_HUGEPAGE) != 0) {
                    throw new IllegalStateException("madvise(MADV_HUGEPAGE) failed");
                }
                long t = System.nanoTime();
                for (long o = 0; o < bytes; o += PAGE) {
                    mem.set(java.lang.foreign.ValueLayout.JAVA_BYTE, o, (byte) 1);
                }
                long touch = System.nanoTime() - t;
                t = System.nanoTime();
                mem.fill((byte) 3);
                long rewrite = System.nanoTime() - t;
                int ignored = (int) munmap.invokeExact(raw.reinterpret(bytes + HUGE), bytes + HUGE);
                if (round == 1) {
                    String tag = huge ? "hugepage_" : "";
                    System.out.printf(Locale.ROOT, "%sfirst_touch_us_per_4k=%.2f%n", tag, touch / 1e3 / (bytes / PAGE));
                    System.out.printf(Locale.ROOT, "%sfirst_touch_gb_per_s=%.2f%n", tag, bytes / (double) touch);
                    System.out.printf(Locale.ROOT, "%srewrite_gb_per_s=%.1f%n", tag, bytes / (double) rewrite);
                }
            }
        }
        System.out.printf(Locale.ROOT, "touched_mib=%d%n", bytes >> 20);
    }
}
