package dev.cryo.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/** {@code posix_fadvise(POSIX_FADV_WILLNEED)}: the kernel starts reading a file into the page cache, without waiting. */
@SuppressWarnings("restricted")
final class FileAdvice {
    private static final int POSIX_FADV_WILLNEED = 3;
    private static final int O_RDONLY_CLOEXEC = 0x80000;
    private static final MethodHandle OPEN;
    private static final MethodHandle CLOSE;
    private static final MethodHandle FADVISE;

    static {
        Linker linker = Linker.nativeLinker();
        var libc = linker.defaultLookup();
        OPEN = linker.downcallHandle(libc.find("open").orElseThrow(), FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT),
                Linker.Option.firstVariadicArg(2));
        CLOSE = linker.downcallHandle(libc.find("close").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        FADVISE = linker.downcallHandle(libc.find("posix_fadvise").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    }

    private FileAdvice() {}

    /** Asks for {@code file} to be read ahead; false when it could not be asked (no such file, say). */
    static boolean willNeed(Path file) {
        try (Arena a = Arena.ofConfined()) {
            int fd = (int) OPEN.invokeExact(a.allocateFrom(file.toString()), O_RDONLY_CLOEXEC);
            if (fd < 0) {
                return false;
            }
            int rc = (int) FADVISE.invokeExact(fd, 0L, 0L, POSIX_FADV_WILLNEED);
            int ignored = (int) CLOSE.invokeExact(fd);
            return rc == 0;
        } catch (Throwable t) {
            return false;
        }
    }
}
