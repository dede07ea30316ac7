package dev.cryo.internal.os;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Optional;

/**
 * The libc calls Cryo needs that the JDK does not offer: directory file descriptors to hand to CRIU,
 * waiting for and signalling a child the JVM did not start itself, and errno names.
 */
public final class LibC {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option SAVE_ERRNO = Linker.Option.captureCallState("errno");

    public static final int O_RDONLY = 0;
    public static final int O_DIRECTORY = 0x10000;
    public static final int O_CLOEXEC = 0x80000;
    public static final int O_RDWR = 2;
    public static final int O_NOCTTY = 0x100;
    public static final int WNOHANG = 1;
    public static final int EINTR = 4;
    public static final int ECHILD = 10;
    public static final int ESRCH = 3;

    private static final MethodHandle open = find("open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), SAVE_ERRNO, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle close = find("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT), SAVE_ERRNO);
    private static final MethodHandle kill = find("kill", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), SAVE_ERRNO);
    private static final MethodHandle waitpid = find("waitpid",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), SAVE_ERRNO);
    private static final MethodHandle dup = find("dup", FunctionDescriptor.of(JAVA_INT, JAVA_INT), SAVE_ERRNO);
    private static final MethodHandle unsetenv = find("unsetenv", FunctionDescriptor.of(JAVA_INT, ADDRESS), SAVE_ERRNO);
    private static final MethodHandle dup2 = find("dup2", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), SAVE_ERRNO);
    private static final MethodHandle syscall = find("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG), SAVE_ERRNO,
            Linker.Option.firstVariadicArg(1));
    // The same numbers on every architecture (they were added after the tables were unified).
    private static final long SYS_PIDFD_OPEN = 434;
    private static final long SYS_PIDFD_GETFD = 438;
    private static final MethodHandle getsid = find("getsid", FunctionDescriptor.of(JAVA_INT, JAVA_INT), SAVE_ERRNO);
    private static final MethodHandle getpgid = find("getpgid", FunctionDescriptor.of(JAVA_INT, JAVA_INT), SAVE_ERRNO);
    private static final MethodHandle setsid = find("setsid", FunctionDescriptor.of(JAVA_INT), SAVE_ERRNO);
    private static final MethodHandle prctl = find("prctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG), SAVE_ERRNO,
            Linker.Option.firstVariadicArg(1));
    private static final int PR_SET_CHILD_SUBREAPER = 36;
    private static final MethodHandle madvise = find("madvise",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT), SAVE_ERRNO);

    /** madvise: the pages may be dropped (private anonymous memory reads back as zeros). */
    public static final int MADV_DONTNEED = 4;
    /** madvise: back this range with transparent huge pages where the kernel allows it. */
    public static final int MADV_HUGEPAGE = 14;
    // glibc only; absent (null) with other C libraries.
    private static final MethodHandle malloc_trim = find("malloc_trim", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
    private static final MethodHandle strerror = find("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    // glibc >= 2.32; absent elsewhere, then names come from the small table below.
    private static final MethodHandle strerrorname_np = find("strerrorname_np", FunctionDescriptor.of(ADDRESS, JAVA_INT));

    private LibC() {}

    @SuppressWarnings("restricted")
    private static MethodHandle find(String name, FunctionDescriptor fd, Linker.Option... options) {
        Optional<MemorySegment> symbol = LINKER.defaultLookup().find(name);
        // A missing symbol fails when called, not when this class loads.
        return symbol.map(s -> LINKER.downcallHandle(s, fd, options)).orElse(null);
    }

    /** Opens a directory read-only for handing its descriptor to CRIU; the caller closes it. */
    public static int openDirectory(String path) {
        return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }

    /** Opens {@code path} with {@code flags} (O_RDWR, ...); the caller closes it. */
    public static int open(String path, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            int fd = (int) open.invokeExact(state, arena.allocateFrom(path), flags, 0);
            if (fd < 0) {
                throw new ErrnoException("open", errno(state), path);
            }
            return fd;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Closes a descriptor this process opened; failures are ignored, there is nothing left to do. */
    public static void close(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            int ignored = (int) close.invokeExact(arena.allocate(CAPTURE), fd);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Duplicates {@code fd} (the copy is inherited by children, unlike the JDK's own descriptors). */
    public static int dup(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            int copy = (int) dup.invokeExact(state, fd);
            if (copy < 0) {
                throw new ErrnoException("dup", errno(state), "fd " + fd);
            }
            return copy;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * Removes {@code name} from this process's C environment, the one children inherit when they
     * are started without an environment of their own (the JDK's ProcessBuilder when its
     * environment() was not touched). Call it early: getenv in another thread meanwhile is unsafe.
     */
    public static void unsetenv(String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            if ((int) unsetenv.invokeExact(state, arena.allocateFrom(name)) < 0) {
                throw new ErrnoException("unsetenv", errno(state), name);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Makes {@code to} a copy of {@code from} (dup2); {@code to} is closed first if open. */
    public static void dup2(int from, int to) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            if ((int) dup2.invokeExact(state, from, to) < 0) {
                throw new ErrnoException("dup2", errno(state), "fd " + from + " to " + to);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
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
            long r = (long) syscall.invokeExact(state, number, a, b, c);
            if (r < 0) {
                throw new ErrnoException(name, errno(state), "(" + a + ", " + b + ")");
            }
            return r;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * The session id of {@code pid} (0: this process) as this process's PID namespace sees it: 0 when
     * the session leader lives in an outer namespace.
     */
    public static int getsid(int pid) {
        return idCall(getsid, "getsid", pid);
    }

    /** The process group id of {@code pid} (0: this process), in this process's PID namespace. */
    public static int getpgid(int pid) {
        return idCall(getpgid, "getpgid", pid);
    }

    /**
     * Makes this process a child subreaper, or no longer one (prctl PR_SET_CHILD_SUBREAPER): while it
     * is, orphaned descendants become its children instead of init's, for it to reap.
     */
    public static void setChildSubreaper(boolean on) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            int rc = (int) prctl.invokeExact(state, PR_SET_CHILD_SUBREAPER, on ? 1L : 0L, 0L, 0L, 0L);
            if (rc < 0) {
                throw new ErrnoException("prctl", errno(state), "PR_SET_CHILD_SUBREAPER " + on);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Makes this process the leader of a new session and process group; returns the new session id. */
    public static int setsid() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            int sid = (int) setsid.invokeExact(state);
            if (sid < 0) {
                throw new ErrnoException("setsid", errno(state), "this process");
            }
            return sid;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private static int idCall(MethodHandle handle, String name, int pid) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            int id = (int) handle.invokeExact(state, pid);
            if (id < 0) {
                throw new ErrnoException(name, errno(state), "pid " + pid);
            }
            return id;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Advises the kernel about the memory {@code [address, address + length)}. */
    public static void madvise(long address, long length, int advice) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            int rc = (int) madvise.invokeExact(state, address, length, advice);
            if (rc != 0) {
                throw new ErrnoException("madvise", errno(state), String.format(java.util.Locale.ROOT,
                        "0x%x, %d bytes, advice %d", address, length, advice));
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * glibc's {@code malloc_trim(0)}: gives the free memory of every malloc arena back to the kernel
     * (the JVM's own native allocations, freed after start-up, stay resident otherwise). Returns
     * whether any memory was released; false also where the C library has no malloc_trim.
     */
    public static boolean mallocTrim() {
        if (malloc_trim == null) {
            return false;
        }
        try {
            return (int) malloc_trim.invokeExact(0L) == 1;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Sends {@code signal} to {@code pid}; returns false when the process no longer exists. */
    public static boolean kill(int pid, int signal) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            int rc = (int) kill.invokeExact(state, pid, signal);
            if (rc == 0) {
                return true;
            }
            int errno = errno(state);
            if (errno == ESRCH) {
                return false;
            }
            throw new ErrnoException("kill", errno, "pid " + pid + ", signal " + signal);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * Waits for the child {@code pid} to end and returns its raw wait status; use {@link #exitCode}
     * to turn it into a shell-style exit code. Retries on EINTR.
     */
    public static int waitFor(int pid) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            MemorySegment status = arena.allocate(JAVA_INT);
            while (true) {
                int rc = (int) waitpid.invokeExact(state, pid, status, 0);
                if (rc == pid) {
                    return status.get(JAVA_INT, 0);
                }
                int errno = errno(state);
                if (errno != EINTR) {
                    throw new ErrnoException("waitpid", errno, "pid " + pid);
                }
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Reaps {@code pid} if it is a child that has exited; returns whether it did. Never blocks. */
    public static boolean reapIfExited(int pid) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            int rc = (int) waitpid.invokeExact(state, pid, arena.allocate(JAVA_INT), WNOHANG);
            return rc == pid;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** A wait status as a shell reports it: the exit code, or 128 + the signal that ended it. */
    public static int exitCode(int waitStatus) {
        int signal = waitStatus & 0x7f;
        return signal == 0 ? (waitStatus >> 8) & 0xff : 128 + signal;
    }

    /** The symbolic name of an errno value, such as {@code ENOSPC}. */
    public static String errnoName(int errno) {
        if (strerrorname_np != null) {
            try {
                MemorySegment name = (MemorySegment) strerrorname_np.invokeExact(errno);
                if (!name.equals(MemorySegment.NULL)) {
                    return cString(name);
                }
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
        }
        return "errno " + errno;
    }

    /** The C library's description of an errno value. */
    public static String strerror(int errno) {
        try {
            return cString((MemorySegment) strerror.invokeExact(errno));
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Reads a NUL-terminated string that libc owns (static storage). */
    @SuppressWarnings("restricted")
    public static String cString(MemorySegment pointer) {
        return pointer.reinterpret(Long.MAX_VALUE).getString(0);
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }
}
