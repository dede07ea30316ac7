package dev.cryo.internal.os;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.List;
import java.util.Locale;

/**
 * The libc calls Cryo needs that the JDK does not offer: directory file descriptors to hand to CRIU,
 * waiting for and signalling a child the JVM did not start itself, and errno names. Handles are
 * named after the C symbols and bound on first use ({@link NativeLibrary}).
 */
public final class LibC {
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option SAVE_ERRNO = Linker.Option.captureCallState("errno");
    private static final NativeLibrary LIBC = NativeLibrary.libc();
    private static final String POSIX = "POSIX.1 (any glibc)";

    public static final int O_RDONLY = 0;
    public static final int O_DIRECTORY = 0x10000;
    public static final int O_CLOEXEC = 0x80000;
    public static final int O_RDWR = 2;
    public static final int O_NOCTTY = 0x100;
    public static final int WNOHANG = 1;
    public static final int EINTR = 4;
    public static final int ECHILD = 10;
    public static final int ESRCH = 3;

    private static final NativeLibrary.Function open = LIBC.function("open", POSIX,
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), SAVE_ERRNO, Linker.Option.firstVariadicArg(2));
    private static final NativeLibrary.Function close = posix("close", JAVA_INT);
    private static final NativeLibrary.Function kill = posix("kill", JAVA_INT, JAVA_INT);
    private static final NativeLibrary.Function waitpid = posix("waitpid", JAVA_INT, ADDRESS, JAVA_INT);
    private static final NativeLibrary.Function dup = posix("dup", JAVA_INT);
    private static final NativeLibrary.Function unsetenv = posix("unsetenv", ADDRESS);
    private static final NativeLibrary.Function dup2 = posix("dup2", JAVA_INT, JAVA_INT);
    private static final NativeLibrary.Function syscall = LIBC.function("syscall", POSIX,
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG), SAVE_ERRNO,
            Linker.Option.firstVariadicArg(1));
    // The same numbers on every architecture (they were added after the tables were unified).
    private static final long SYS_PIDFD_OPEN = 434;
    private static final long SYS_PIDFD_GETFD = 438;
    private static final NativeLibrary.Function getsid = posix("getsid", JAVA_INT);
    private static final NativeLibrary.Function getpgid = posix("getpgid", JAVA_INT);
    private static final NativeLibrary.Function setsid = posix("setsid");
    private static final NativeLibrary.Function prctl = LIBC.function("prctl", "Linux 3.4 (PR_SET_CHILD_SUBREAPER)",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG), SAVE_ERRNO,
            Linker.Option.firstVariadicArg(1));
    private static final int PR_SET_CHILD_SUBREAPER = 36;
    private static final NativeLibrary.Function madvise = posix("madvise", JAVA_LONG, JAVA_LONG, JAVA_INT);
    private static final NativeLibrary.Function mmap = LIBC.function("mmap", POSIX,
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG), SAVE_ERRNO);
    private static final NativeLibrary.Function munmap = posix("munmap", ADDRESS, JAVA_LONG);
    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
    private static final NativeLibrary.Function posix_fadvise = LIBC.function("posix_fadvise", POSIX,
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    private static final int POSIX_FADV_WILLNEED = 3;

    /** madvise: the pages may be dropped (private anonymous memory reads back as zeros). */
    public static final int MADV_DONTNEED = 4;
    /** madvise: back this range with transparent huge pages where the kernel allows it. */
    public static final int MADV_HUGEPAGE = 14;
    // glibc only; absent with other C libraries, then mallocTrim() does nothing.
    private static final NativeLibrary.Function malloc_trim = LIBC.function("malloc_trim", "glibc",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
    private static final NativeLibrary.Function strerror = LIBC.function("strerror", POSIX,
            FunctionDescriptor.of(ADDRESS, JAVA_INT));
    // glibc >= 2.32; absent elsewhere, then errnoName() says "errno N".
    private static final NativeLibrary.Function strerrorname_np = LIBC.function("strerrorname_np", "glibc 2.32",
            FunctionDescriptor.of(ADDRESS, JAVA_INT));

    private LibC() {}

    /** A POSIX function returning an int, -1 and errno on failure. */
    private static NativeLibrary.Function posix(String name, MemoryLayout... arguments) {
        return LIBC.function(name, POSIX, FunctionDescriptor.of(JAVA_INT, arguments), SAVE_ERRNO);
    }

    /** A call of a {@link #posix} function: {@code state} is where errno is captured, the first argument. */
    @FunctionalInterface
    private interface ErrnoCall {
        int on(MethodHandle handle, MemorySegment state) throws Throwable;
    }

    /** Calls {@code function}; a negative result throws {@link ErrnoException} with errno and {@code detail}. */
    private static int call(NativeLibrary.Function function, String detail, ErrnoCall call) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            int rc = function.invokeInt(h -> call.on(h, state));
            if (rc < 0) {
                throw new ErrnoException(function.symbol(), (int) ERRNO.get(state, 0L), detail);
            }
            return rc;
        }
    }

    /** Opens a directory read-only for handing its descriptor to CRIU; the caller closes it. */
    public static int openDirectory(String path) {
        return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }

    /**
     * Binds ahead, on the calling thread, the calls a launcher's restore makes (descriptors,
     * subreaping, waiting), and runs the harmless ones once (a descriptor of / opened, duplicated
     * and closed), so that their first use on the restore's path is as cheap as a later one.
     * Failures are left for the real calls to report.
     */
    public static void prepareRestoreCalls() {
        try {
            for (NativeLibrary.Function f : List.of(open, close, dup, prctl, waitpid, kill)) {
                f.bind();
            }
            int fd = openDirectory("/");
            close(dup(fd));
            close(fd);
        } catch (RuntimeException e) {
            // the restore's own call says what is wrong
        }
    }

    /**
     * Runs once, harmlessly, the calls with which a process restored from an image takes its
     * launcher's stdio ({@link #descriptorOf}, {@link #dup2}, {@link #close}) and reaps the zombie
     * libcriu leaves ({@link #reapIfExited}). Called before a dump, it leaves their downcall handles
     * made and linked in the image: a restored copy that makes them itself pays a fresh JVM's
     * binding cost (measured: 35 ms of the demo's 35 ms from CRIU's return to its first answer).
     * Failures are left for the real calls to report.
     */
    public static void prepareRestoredCopyCalls() {
        int self = (int) ProcessHandle.current().pid();
        reapIfExited(self); // not its own child: ECHILD, nothing happens
        try {
            int copy = descriptorOf(self, 0);
            dup2(copy, copy); // the same descriptor: nothing changes
            close(copy);
        } catch (RuntimeException e) {
            // no pidfd_getfd here (Linux before 5.6): the restored copy keeps stdio as CRIU restored it
        }
    }

    /** Opens {@code path} with {@code flags} (O_RDWR, ...); the caller closes it. */
    public static int open(String path, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cPath = arena.allocateFrom(path);
            return call(open, path, (h, state) -> (int) h.invokeExact(state, cPath, flags, 0));
        }
    }

    /** Closes a descriptor this process opened; failures are ignored, there is nothing left to do. */
    public static void close(int fd) {
        try {
            call(close, "fd " + fd, (h, state) -> (int) h.invokeExact(state, fd));
        } catch (ErrnoException ignored) {
            // the descriptor is gone either way
        }
    }

    /** Duplicates {@code fd} (the copy is inherited by children, unlike the JDK's own descriptors). */
    public static int dup(int fd) {
        return call(dup, "fd " + fd, (h, state) -> (int) h.invokeExact(state, fd));
    }

    /**
     * Removes {@code name} from this process's C environment, the one children inherit when they
     * are started without an environment of their own (the JDK's ProcessBuilder when its
     * environment() was not touched). Call it early: getenv in another thread meanwhile is unsafe.
     */
    public static void unsetenv(String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cName = arena.allocateFrom(name);
            call(unsetenv, name, (h, state) -> (int) h.invokeExact(state, cName));
        }
    }

    /** Makes {@code to} a copy of {@code from} (dup2); {@code to} is closed first if open. */
    public static void dup2(int from, int to) {
        call(dup2, "fd " + from + " to " + to, (h, state) -> (int) h.invokeExact(state, from, to));
    }

    /**
     * A copy, in this process, of descriptor {@code fd} of process {@code pid}: the same open file
     * (offset and flags shared), as if inherited (pidfd_open and pidfd_getfd, Linux 5.6+; it needs
     * the right to ptrace {@code pid}). The caller closes it.
     */
    public static int descriptorOf(int pid, int fd) {
        int pidfd = (int) sys("pidfd_open", SYS_PIDFD_OPEN, pid, 0, 0);
        try {
            return (int) sys("pidfd_getfd", SYS_PIDFD_GETFD, pidfd, fd, 0);
        } finally {
            close(pidfd);
        }
    }

    private static long sys(String name, long number, long a, long b, long c) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            long r = syscall.invoke(h -> (long) h.invokeExact(state, number, a, b, c));
            if (r < 0) {
                throw new ErrnoException(name, (int) ERRNO.get(state, 0L), "(" + a + ", " + b + ")");
            }
            return r;
        }
    }

    /**
     * The session id of {@code pid} (0: this process) as this process's PID namespace sees it: 0 when
     * the session leader lives in an outer namespace.
     */
    public static int getsid(int pid) {
        return call(getsid, "pid " + pid, (h, state) -> (int) h.invokeExact(state, pid));
    }

    /** The process group id of {@code pid} (0: this process), in this process's PID namespace. */
    public static int getpgid(int pid) {
        return call(getpgid, "pid " + pid, (h, state) -> (int) h.invokeExact(state, pid));
    }

    /**
     * Makes this process a child subreaper, or no longer one (prctl PR_SET_CHILD_SUBREAPER): while it
     * is, orphaned descendants become its children instead of init's, for it to reap.
     */
    public static void setChildSubreaper(boolean on) {
        call(prctl, "PR_SET_CHILD_SUBREAPER " + on,
                (h, state) -> (int) h.invokeExact(state, PR_SET_CHILD_SUBREAPER, on ? 1L : 0L, 0L, 0L, 0L));
    }

    /** Makes this process the leader of a new session and process group; returns the new session id. */
    public static int setsid() {
        return call(setsid, "this process", (h, state) -> (int) h.invokeExact(state));
    }

    /** Advises the kernel about the memory {@code [address, address + length)}. */
    public static void madvise(long address, long length, int advice) {
        call(madvise, String.format(Locale.ROOT, "0x%x, %d bytes, advice %d", address, length, advice),
                (h, state) -> (int) h.invokeExact(state, address, length, advice));
    }

    /**
     * {@code bytes} of new private anonymous memory, page-aligned, straight from {@code mmap}: not
     * zeroed by the JVM first (an arena's allocation writes every byte, faulting every page in), and
     * given back to the kernel at once by {@link #unmap}.
     */
    public static MemorySegment mapAnonymous(long bytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            MemorySegment p = mmap.invoke(h -> (MemorySegment) h.invokeExact(state, MemorySegment.NULL, bytes,
                    PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0L));
            if (p.address() == -1L) { // MAP_FAILED
                throw new ErrnoException("mmap", (int) ERRNO.get(state, 0L), bytes + " bytes of anonymous memory");
            }
            return NativeLibrary.sized(p, bytes);
        }
    }

    /** Gives memory from {@link #mapAnonymous} back to the kernel. */
    public static void unmap(MemorySegment memory) {
        call(munmap, memory.byteSize() + " bytes at 0x" + Long.toHexString(memory.address()),
                (h, state) -> (int) h.invokeExact(state, memory, memory.byteSize()));
    }

    /**
     * {@code posix_fadvise(POSIX_FADV_WILLNEED)}: the kernel starts reading {@code path} into the page
     * cache, without waiting. Best effort: returns false when it could not be asked (no such file, say).
     */
    public static boolean adviseWillNeed(String path) {
        int fd;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cPath = arena.allocateFrom(path);
            fd = call(open, path, (h, state) -> (int) h.invokeExact(state, cPath, O_RDONLY | O_CLOEXEC, 0));
        } catch (ErrnoException e) {
            return false;
        }
        try {
            return posix_fadvise.invokeInt(h -> (int) h.invokeExact(fd, 0L, 0L, POSIX_FADV_WILLNEED)) == 0;
        } finally {
            close(fd);
        }
    }

    /**
     * glibc's {@code malloc_trim(0)}: gives the free memory of every malloc arena back to the kernel
     * (the JVM's own native allocations, freed after start-up, stay resident otherwise). Returns
     * whether any memory was released; false also where the C library has no malloc_trim.
     */
    public static boolean mallocTrim() {
        return malloc_trim.exists() && malloc_trim.invokeInt(h -> (int) h.invokeExact(0L)) == 1;
    }

    /** Sends {@code signal} to {@code pid}; returns false when the process no longer exists. */
    public static boolean kill(int pid, int signal) {
        try {
            call(kill, "pid " + pid + ", signal " + signal, (h, state) -> (int) h.invokeExact(state, pid, signal));
            return true;
        } catch (ErrnoException e) {
            if (e.errno() == ESRCH) {
                return false;
            }
            throw e;
        }
    }

    /**
     * Waits for the child {@code pid} to end and returns its raw wait status; use {@link #exitCode}
     * to turn it into a shell-style exit code. Retries on EINTR.
     */
    public static int waitFor(int pid) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment status = arena.allocate(JAVA_INT);
            while (true) {
                try {
                    call(waitpid, "pid " + pid, (h, state) -> (int) h.invokeExact(state, pid, status, 0));
                    return status.get(JAVA_INT, 0);
                } catch (ErrnoException e) {
                    if (e.errno() != EINTR) {
                        throw e;
                    }
                }
            }
        }
    }

    /** Reaps {@code pid} if it is a child that has exited; returns whether it did. Never blocks. */
    public static boolean reapIfExited(int pid) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment status = arena.allocate(JAVA_INT);
            return call(waitpid, "pid " + pid, (h, state) -> (int) h.invokeExact(state, pid, status, WNOHANG)) == pid;
        } catch (ErrnoException e) {
            return false; // not our child (ECHILD), or already reaped
        }
    }

    /** A wait status as a shell reports it: the exit code, or 128 + the signal that ended it. */
    public static int exitCode(int waitStatus) {
        int signal = waitStatus & 0x7f;
        return signal == 0 ? (waitStatus >> 8) & 0xff : 128 + signal;
    }

    /** The symbolic name of an errno value, such as {@code ENOSPC}. */
    public static String errnoName(int errno) {
        if (strerrorname_np.exists()) {
            MemorySegment name = strerrorname_np.invoke(h -> (MemorySegment) h.invokeExact(errno));
            if (!name.equals(MemorySegment.NULL)) {
                return NativeLibrary.cString(name);
            }
        }
        return "errno " + errno;
    }

    /** The C library's description of an errno value. */
    public static String strerror(int errno) {
        return NativeLibrary.cString(strerror.invoke(h -> (MemorySegment) h.invokeExact(errno)));
    }

    /** Reads a NUL-terminated string that libc owns (static storage). */
    public static String cString(MemorySegment pointer) {
        return NativeLibrary.cString(pointer);
    }
}
