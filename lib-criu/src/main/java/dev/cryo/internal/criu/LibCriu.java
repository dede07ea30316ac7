package dev.cryo.internal.criu;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.cryo.internal.os.NativeLibrary;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * libcriu's functions, one per C symbol, named after it. Only the thread-safe
 * {@code criu_local_*} API is bound; {@link CriuRequest} is the typed way to use it.
 * Each handle is made on first use (a restore needs about half of them, and each costs
 * milliseconds on the launcher's restore path); a symbol this libcriu lacks fails when it is
 * called, with a {@link dev.cryo.internal.os.MissingSymbolException}.
 */
public final class LibCriu {
    private static final Map<CriuLocation, LibCriu> LOADED = new HashMap<>();
    /** The release of CRIU whose libcriu has every function bound here. */
    private static final String SINCE = "CRIU 4.0";

    private static final FunctionDescriptor OPTS_BOOL = FunctionDescriptor.ofVoid(ADDRESS, JAVA_BOOLEAN);
    private static final FunctionDescriptor OPTS_INT = FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT);
    private static final FunctionDescriptor OPTS_STRING_RC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final FunctionDescriptor OPTS_RC = FunctionDescriptor.of(JAVA_INT, ADDRESS);

    private final CriuLocation location;

    final NativeLibrary.Function criu_local_init_opts;
    final NativeLibrary.Function criu_local_free_opts;
    final NativeLibrary.Function criu_local_set_service_binary;
    final NativeLibrary.Function criu_local_set_pid;
    final NativeLibrary.Function criu_local_set_images_dir_fd;
    final NativeLibrary.Function criu_local_set_work_dir_fd;
    final NativeLibrary.Function criu_local_set_log_file;
    final NativeLibrary.Function criu_local_set_log_level;
    final NativeLibrary.Function criu_local_set_leave_running;
    final NativeLibrary.Function criu_local_set_shell_job;
    final NativeLibrary.Function criu_local_set_tcp_established;
    final NativeLibrary.Function criu_local_set_ext_unix_sk;
    final NativeLibrary.Function criu_local_set_file_locks;
    final NativeLibrary.Function criu_local_set_ghost_limit;
    final NativeLibrary.Function criu_local_add_inherit_fd;
    final NativeLibrary.Function criu_local_set_config_file;
    final NativeLibrary.Function criu_local_dump;
    final NativeLibrary.Function criu_local_restore_child;
    final NativeLibrary.Function criu_local_get_version;

    private LibCriu(CriuLocation location, NativeLibrary lib) {
        this.location = location;
        criu_local_init_opts = lib.function("criu_local_init_opts", SINCE, OPTS_RC);
        criu_local_free_opts = lib.function("criu_local_free_opts", SINCE, FunctionDescriptor.ofVoid(ADDRESS));
        criu_local_set_service_binary = lib.function("criu_local_set_service_binary", SINCE, OPTS_STRING_RC);
        criu_local_set_pid = lib.function("criu_local_set_pid", SINCE, OPTS_INT);
        criu_local_set_images_dir_fd = lib.function("criu_local_set_images_dir_fd", SINCE, OPTS_INT);
        criu_local_set_work_dir_fd = lib.function("criu_local_set_work_dir_fd", SINCE, OPTS_INT);
        criu_local_set_log_file = lib.function("criu_local_set_log_file", SINCE, OPTS_STRING_RC);
        criu_local_set_log_level = lib.function("criu_local_set_log_level", SINCE, OPTS_INT);
        criu_local_set_leave_running = lib.function("criu_local_set_leave_running", SINCE, OPTS_BOOL);
        criu_local_set_shell_job = lib.function("criu_local_set_shell_job", SINCE, OPTS_BOOL);
        criu_local_set_tcp_established = lib.function("criu_local_set_tcp_established", SINCE, OPTS_BOOL);
        criu_local_set_ext_unix_sk = lib.function("criu_local_set_ext_unix_sk", SINCE, OPTS_BOOL);
        criu_local_set_file_locks = lib.function("criu_local_set_file_locks", SINCE, OPTS_BOOL);
        criu_local_set_ghost_limit = lib.function("criu_local_set_ghost_limit", SINCE, OPTS_INT);
        criu_local_add_inherit_fd = lib.function("criu_local_add_inherit_fd", SINCE,
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
        criu_local_set_config_file = lib.function("criu_local_set_config_file", SINCE, OPTS_STRING_RC);
        // The actions report CRIU's own errno (resp->cr_errno) through errno: capture it.
        Linker.Option errno = Linker.Option.captureCallState("errno");
        criu_local_dump = lib.function("criu_local_dump", SINCE, OPTS_RC, errno);
        criu_local_restore_child = lib.function("criu_local_restore_child", SINCE, OPTS_RC, errno);
        criu_local_get_version = lib.function("criu_local_get_version", SINCE, OPTS_RC);
    }

    /**
     * Loads libcriu from {@code location} once per process. Its one non-glibc dependency,
     * libprotobuf-c, is loaded first from beside it when present, so that a private prefix
     * (bin/bootstrap's) works without LD_LIBRARY_PATH.
     */
    public static synchronized LibCriu load(CriuLocation location) {
        LibCriu lib = LOADED.get(location);
        if (lib != null) {
            return lib;
        }
        String remedy = "Run bin/bootstrap, or install CRIU 4.0 or newer, or set CRYO_CRIU_LIB to its libcriu.so.2.";
        NativeLibrary library;
        try {
            if (location.library().contains("/")) {
                Path path = Path.of(location.library());
                Path protobuf = path.resolveSibling("libprotobuf-c.so.1");
                if (Files.isRegularFile(protobuf)) {
                    NativeLibrary.load(protobuf, remedy);
                }
                library = NativeLibrary.load(path, remedy);
            } else {
                library = NativeLibrary.load(location.library(), remedy);
            }
        } catch (IllegalArgumentException e) {
            throw new CriuUnavailableException("Cannot load libcriu (" + location.library() + ", from "
                    + location.source() + "): " + e.getMessage() + ". Run bin/bootstrap, or install CRIU 4.0+ with"
                    + " its library (Debian/Ubuntu: libcriu2), or set CRYO_CRIU_LIB to the path of libcriu.so.2.", e);
        } catch (IllegalCallerException e) {
            throw new CriuUnavailableException("Native access is not enabled for Cryo: start the JVM with"
                    + " --enable-native-access=ALL-UNNAMED (class path) or --enable-native-access=dev.cryo.criu"
                    + " (module path).", e);
        }
        lib = new LibCriu(location, library);
        LOADED.put(location, lib);
        return lib;
    }

    /**
     * Binds ahead, on the calling thread, the functions a restore calls, and fills and frees one
     * request without an action (no criu is started), so that the launcher's real request, made
     * once the image is chosen, pays no first-call costs. Failures are left for the real request.
     */
    public void prepareRestoreCalls() {
        try {
            for (NativeLibrary.Function f : java.util.List.of(criu_local_init_opts, criu_local_free_opts,
                    criu_local_set_service_binary, criu_local_set_images_dir_fd, criu_local_set_work_dir_fd,
                    criu_local_set_log_file, criu_local_set_log_level, criu_local_set_shell_job,
                    criu_local_set_tcp_established, criu_local_set_ext_unix_sk, criu_local_set_file_locks,
                    criu_local_add_inherit_fd, criu_local_set_config_file, criu_local_restore_child)) {
                f.bind();
            }
            try (CriuRequest request = newRequest()) {
                request.log("restore.log", CriuRequest.LOG_WARN).shellJob(true).tcpEstablished(false)
                        .externalUnixSockets(false).fileLocks(false);
            }
        } catch (RuntimeException e) {
            // the real request says what is wrong
        }
    }

    /**
     * Makes and frees one request, so that {@code criu_local_free_opts}, which a self-dump first
     * calls after CRIU returns, is bound before the dump: a restored copy then does not bind it
     * (a fresh JVM's cost, on its way to its first answer). Failures are left for the real request.
     */
    public void prepareRestoredCopyCalls() {
        try (CriuRequest request = newRequest()) {
            request.shellJob(true);
        } catch (RuntimeException e) {
            // the real request says what is wrong
        }
    }

    /** Where this libcriu and its criu binary were found. */
    public CriuLocation location() {
        return location;
    }

    /** A new request (a {@code criu_opts}) that starts {@link CriuLocation#binary()} in swrk mode. */
    public CriuRequest newRequest() {
        return new CriuRequest(this);
    }

    /**
     * The criu binary's version as {@code major*10000 + minor*100 + sublevel}: {@link CriuVersion#of}
     * for {@link CriuLocation#binary()}.
     */
    public int binaryVersion() {
        return CriuVersion.of(location.binary());
    }
}
