package dev.cryo.internal.criu;

import static java.lang.foreign.ValueLayout.ADDRESS;

import dev.cryo.internal.os.LibC;
import dev.cryo.internal.os.NativeLibrary;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One libcriu request: a {@code criu_opts} with its options set, then one action ({@link #dump()},
 * {@link #restoreChild()}). Owns the directory descriptors it opened and frees
 * everything on {@link #close()}. Use from one thread.
 */
public final class CriuRequest implements AutoCloseable {
    /** CRIU's log levels (criu.h). */
    public static final int LOG_ERROR = 1, LOG_WARN = 2, LOG_INFO = 3, LOG_DEBUG = 4;

    private static final StructLayout CAPTURE = java.lang.foreign.Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final int TAIL_LINES = 12;

    private final LibCriu lib;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment opts;
    private final List<Integer> ownedFds = new ArrayList<>();
    private Path imagesDirectory;
    private Path workDirectory;
    private String logName;

    CriuRequest(LibCriu lib) {
        this.lib = lib;
        try {
            MemorySegment holder = arena.allocate(ADDRESS);
            check(lib.criu_local_init_opts, lib.criu_local_init_opts.invokeInt(h -> (int) h.invokeExact(holder)));
            opts = holder.get(ADDRESS, 0);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        setString(lib.criu_local_set_service_binary, lib.location().binary().toString());
    }

    /** The directory CRIU reads or writes images in; required for dump and restore. */
    public CriuRequest imagesDirectory(Path dir) {
        int fd = openOwned(dir);
        setInt(lib.criu_local_set_images_dir_fd, fd);
        imagesDirectory = dir;
        return this;
    }

    /** The directory CRIU writes its log (and other working files) in; defaults to the images directory. */
    public CriuRequest workDirectory(Path dir) {
        int fd = openOwned(dir);
        setInt(lib.criu_local_set_work_dir_fd, fd);
        workDirectory = dir;
        return this;
    }

    /** CRIU's log file name, inside the work directory, and its level ({@link #LOG_ERROR}..{@link #LOG_DEBUG}). */
    public CriuRequest log(String fileName, int level) {
        setString(lib.criu_local_set_log_file, fileName);
        setInt(lib.criu_local_set_log_level, level);
        logName = fileName;
        return this;
    }

    /** The process (tree root) to dump; by default libcriu dumps the calling process. */
    public CriuRequest pid(int pid) {
        setInt(lib.criu_local_set_pid, pid);
        return this;
    }

    /** Keep the dumped process running after the dump (otherwise CRIU kills it). */
    public CriuRequest leaveRunning(boolean value) {
        return flag(lib.criu_local_set_leave_running, value);
    }

    /** Allow a process whose session or terminal belongs to its parent (any process started from a shell). */
    public CriuRequest shellJob(boolean value) {
        return flag(lib.criu_local_set_shell_job, value);
    }

    /** Dump and restore established TCP connections (restore needs the same addresses). */
    public CriuRequest tcpEstablished(boolean value) {
        return flag(lib.criu_local_set_tcp_established, value);
    }

    /** Allow unix sockets connected to processes outside the dumped tree. */
    public CriuRequest externalUnixSockets(boolean value) {
        return flag(lib.criu_local_set_ext_unix_sk, value);
    }

    /** Dump and restore file locks. */
    public CriuRequest fileLocks(boolean value) {
        return flag(lib.criu_local_set_file_locks, value);
    }

    /** The largest deleted-but-open file CRIU copies into the image. */
    public CriuRequest ghostLimit(long bytes) {
        setInt(lib.criu_local_set_ghost_limit, (int) Math.min(bytes, Integer.MAX_VALUE));
        return this;
    }

    /**
     * Restore with lazy pages: CRIU maps the private anonymous memory empty and hands its
     * userfaultfd to the {@link LazyPagesDaemon} listening in the same work directory, which
     * serves the pages on first touch and copies the rest in the background. libcriu (4.2.1) has
     * no setter for the RPC's {@code lazy_pages} field, so it goes through a CRIU config file
     * ({@code lazy-pages.conf} in the work directory), which CRIU reads over the RPC options.
     * Call after {@link #workDirectory(Path)}.
     */
    public CriuRequest lazyPages() {
        if (workDirectory == null) {
            throw new IllegalStateException("lazyPages() needs the work directory set first");
        }
        Path config = workDirectory.resolve("lazy-pages.conf");
        try {
            java.nio.file.Files.writeString(config, "lazy-pages\n");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot write CRIU's config file " + config, e);
        }
        setString(lib.criu_local_set_config_file, config.toString());
        return this;
    }

    /**
     * At restore, give the process our {@code fd} wherever it had the resource {@code key}
     * ({@code pipe:[ino]}, {@code socket:[ino]}, {@code tty[rdev:dev]} or a path without its leading '/').
     */
    public CriuRequest inheritFd(int fd, String key) {
        MemorySegment cKey = arena.allocateFrom(key);
        check(lib.criu_local_add_inherit_fd,
                lib.criu_local_add_inherit_fd.invokeInt(h -> (int) h.invokeExact(opts, fd, cKey)));
        return this;
    }

    /** Result of a dump, seen from the process that asked for it. */
    public enum DumpResult {
        /** The image was written and this process kept running (leave-running). */
        DUMPED,
        /** This process is a copy restored from the image. */
        RESTORED
    }

    /** Dumps the process (by default the caller itself). */
    public DumpResult dump() {
        int rc = action(lib.criu_local_dump);
        return rc == 0 ? DumpResult.DUMPED : DumpResult.RESTORED;
    }

    /**
     * Restores the image as a child of the caller (CRIU's restore-sibling mode); returns the
     * restored root's pid. Every PID the image holds must be free, zombies' included.
     */
    public int restoreChild() {
        return action(lib.criu_local_restore_child);
    }

    /**
     * The criu binary's version through libcriu ({@code major*10000 + minor*100 + sublevel}).
     * libcriu leaves the criu it started as an unreaped child: never call this in a process that
     * is about to be dumped (use {@link LibCriu#binaryVersion()}).
     */
    public int version() {
        return check(lib.criu_local_get_version, lib.criu_local_get_version.invokeInt(h -> (int) h.invokeExact(opts)));
    }

    /** CRIU's log file for this request, or null when no log was asked for. */
    public Path logFile() {
        Path dir = workDirectory != null ? workDirectory : imagesDirectory;
        return logName == null || dir == null ? null : dir.resolve(logName);
    }

    private int action(NativeLibrary.Function function) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(CAPTURE);
            int rc = function.invokeInt(h -> (int) h.invokeExact(state, opts));
            if (rc < 0) {
                int criuErrno = (int) ERRNO.get(state, 0L);
                throw new CriuException(function.symbol(), rc, criuErrno, logFile(), logTail(logFile()));
            }
            return rc;
        }
    }

    private CriuRequest flag(NativeLibrary.Function function, boolean value) {
        function.invoke(h -> {
            h.invokeExact(opts, value);
            return null;
        });
        return this;
    }

    private void setInt(NativeLibrary.Function function, int value) {
        function.invoke(h -> {
            h.invokeExact(opts, value);
            return null;
        });
    }

    private void setString(NativeLibrary.Function function, String value) {
        MemorySegment cValue = arena.allocateFrom(value);
        check(function, function.invokeInt(h -> (int) h.invokeExact(opts, cValue)));
    }

    private int openOwned(Path dir) {
        int fd = LibC.openDirectory(dir.toString());
        ownedFds.add(fd);
        return fd;
    }

    /** libcriu's setters and getters return {@code -errno} on failure. */
    private static int check(NativeLibrary.Function function, int rc) {
        if (rc < 0) {
            throw new CriuException(function.symbol(), rc, 0, null, List.of());
        }
        return rc;
    }

    /**
     * The last error lines of a CRIU log (or its last lines when it has no errors). CRIU prints one
     * harmless RLIMIT_NOFILE error in every log on these kernels: it is left out.
     */
    public static List<String> logTail(Path log) {
        if (log == null) {
            return List.of();
        }
        List<String> lines = new ArrayList<>();
        try (RandomAccessFile file = new RandomAccessFile(log.toFile(), "r")) {
            long length = file.length();
            long start = Math.max(0, length - 256 * 1024);
            byte[] bytes = new byte[(int) (length - start)];
            file.seek(start);
            file.readFully(bytes);
            for (String line : new String(bytes, StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank() && !line.contains("RLIMIT_NOFILE")) {
                    lines.add(line.strip());
                }
            }
        } catch (IOException e) {
            return List.of();
        }
        List<String> errors = lines.stream().filter(l -> l.contains("Error") || l.contains("rror (")).toList();
        List<String> pick = errors.isEmpty() ? lines : errors;
        return List.copyOf(pick.subList(Math.max(0, pick.size() - TAIL_LINES), pick.size()));
    }

    /** Frees the {@code criu_opts} and closes the directory descriptors this request opened. */
    @Override
    public void close() {
        try {
            lib.criu_local_free_opts.invoke(h -> {
                h.invokeExact(opts);
                return null;
            });
        } finally {
            ownedFds.forEach(LibC::close);
            ownedFds.clear();
            arena.close();
        }
    }
}
