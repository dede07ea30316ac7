package dev.cryo.internal.criu;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * libcriu's downcall handles, one per C symbol, named after it. Only the thread-safe
 * {@code criu_local_*} API is bound; {@link CriuRequest} is the typed way to use it.
 * A symbol this libcriu lacks fails when it is called, not when the library loads.
 */
public final class LibCriu {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final Map<CriuLocation, LibCriu> LOADED = new HashMap<>();

    private static final FunctionDescriptor OPTS_BOOL = FunctionDescriptor.ofVoid(ADDRESS, JAVA_BOOLEAN);
    private static final FunctionDescriptor OPTS_INT = FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT);
    private static final FunctionDescriptor OPTS_STRING_RC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final FunctionDescriptor OPTS_RC = FunctionDescriptor.of(JAVA_INT, ADDRESS);

    private final CriuLocation location;
    private final SymbolLookup lookup;

    final Downcall criu_local_init_opts;
    final Downcall criu_local_free_opts;
    final Downcall criu_local_set_service_binary;
    final Downcall criu_local_set_pid;
    final Downcall criu_local_set_images_dir_fd;
    final Downcall criu_local_set_work_dir_fd;
    final Downcall criu_local_set_log_file;
    final Downcall criu_local_set_log_level;
    final Downcall criu_local_set_leave_running;
    final Downcall criu_local_set_shell_job;
    final Downcall criu_local_set_tcp_established;
    final Downcall criu_local_set_ext_unix_sk;
    final Downcall criu_local_set_file_locks;
    final Downcall criu_local_set_ghost_limit;
    final Downcall criu_local_set_evasive_devices;
    final Downcall criu_local_add_inherit_fd;
    final Downcall criu_local_add_external;
    final Downcall criu_local_set_config_file;
    final Downcall criu_local_dump;
    final Downcall criu_local_restore_child;
    final Downcall criu_local_check;
    final Downcall criu_local_get_version;

    private LibCriu(CriuLocation location, SymbolLookup lookup) {
        this.location = location;
        this.lookup = lookup;
        criu_local_init_opts = find("criu_local_init_opts", OPTS_RC);
        criu_local_free_opts = find("criu_local_free_opts", FunctionDescriptor.ofVoid(ADDRESS));
        criu_local_set_service_binary = find("criu_local_set_service_binary", OPTS_STRING_RC);
        criu_local_set_pid = find("criu_local_set_pid", OPTS_INT);
        criu_local_set_images_dir_fd = find("criu_local_set_images_dir_fd", OPTS_INT);
        criu_local_set_work_dir_fd = find("criu_local_set_work_dir_fd", OPTS_INT);
        criu_local_set_log_file = find("criu_local_set_log_file", OPTS_STRING_RC);
        criu_local_set_log_level = find("criu_local_set_log_level", OPTS_INT);
        criu_local_set_leave_running = find("criu_local_set_leave_running", OPTS_BOOL);
        criu_local_set_shell_job = find("criu_local_set_shell_job", OPTS_BOOL);
        criu_local_set_tcp_established = find("criu_local_set_tcp_established", OPTS_BOOL);
        criu_local_set_ext_unix_sk = find("criu_local_set_ext_unix_sk", OPTS_BOOL);
        criu_local_set_file_locks = find("criu_local_set_file_locks", OPTS_BOOL);
        criu_local_set_ghost_limit = find("criu_local_set_ghost_limit", OPTS_INT);
        criu_local_set_evasive_devices = find("criu_local_set_evasive_devices", OPTS_BOOL);
        criu_local_add_inherit_fd = find("criu_local_add_inherit_fd",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
        criu_local_add_external = find("criu_local_add_external", OPTS_STRING_RC);
        criu_local_set_config_file = find("criu_local_set_config_file", OPTS_STRING_RC);
        // The actions report CRIU's own errno (resp->cr_errno) through errno: capture it.
        Linker.Option errno = Linker.Option.captureCallState("errno");
        criu_local_dump = find("criu_local_dump", OPTS_RC, errno);
        criu_local_restore_child = find("criu_local_restore_child", OPTS_RC, errno);
        criu_local_check = find("criu_local_check", OPTS_RC, errno);
        criu_local_get_version = find("criu_local_get_version", OPTS_RC);
    }

    /**
     * Loads libcriu from {@code location} once per process. Its one non-glibc dependency,
     * libprotobuf-c, is loaded first from beside it when present, so that a private prefix
     * (bin/bootstrap's) works without LD_LIBRARY_PATH.
     */
    @SuppressWarnings("restricted")
    public static synchronized LibCriu load(CriuLocation location) {
        LibCriu lib = LOADED.get(location);
        if (lib != null) {
            return lib;
        }
        SymbolLookup lookup;
        try {
            if (location.library().contains("/")) {
                Path path = Path.of(location.library());
                Path protobuf = path.resolveSibling("libprotobuf-c.so.1");
                if (Files.isRegularFile(protobuf)) {
                    SymbolLookup.libraryLookup(protobuf, Arena.global());
                }
                lookup = SymbolLookup.libraryLookup(path, Arena.global());
            } else {
                lookup = SymbolLookup.libraryLookup(location.library(), Arena.global());
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
        lib = new LibCriu(location, lookup);
        LOADED.put(location, lib);
        return lib;
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
     * The criu binary's version as {@code major*10000 + minor*100 + sublevel}, from
     * {@code criu --version} run as a child the JDK reaps. Not {@code criu_local_get_version}: it
     * leaves its criu child unreaped, and a zombie child dumped with the process breaks its restore.
     */
    public int binaryVersion() {
        return versionOf(location.binary());
    }

    /** Runs {@code binary --version} and parses "Version: X.Y[.Z]". */
    public static int versionOf(Path binary) {
        try {
            Process p = new ProcessBuilder(binary.toString(), "--version").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            int exit = p.waitFor();
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("Version:\\s*(\\d+)\\.(\\d+)(?:\\.(\\d+))?")
                    .matcher(out);
            if (exit != 0 || !m.find()) {
                throw new CriuUnavailableException(binary + " --version failed (exit " + exit + "): " + out.strip()
                        + ". Check that CRIU runs here: run bin/bootstrap, or set CRYO_CRIU to a working criu.");
            }
            return Integer.parseInt(m.group(1)) * 10000 + Integer.parseInt(m.group(2)) * 100
                    + (m.group(3) == null ? 0 : Integer.parseInt(m.group(3)));
        } catch (java.io.IOException e) {
            throw new CriuUnavailableException("Cannot run " + binary + ": " + e.getMessage()
                    + ". Run bin/bootstrap, or set CRYO_CRIU to a working criu binary.", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CriuUnavailableException("Interrupted while asking " + binary + " for its version", e);
        }
    }

    /** Formats a {@code criu_get_version} number as {@code 4.1.1}. */
    public static String formatVersion(int version) {
        return (version / 10000) + "." + (version / 100 % 100) + "." + (version % 100);
    }

    private Downcall find(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        return new Downcall(name, descriptor, options);
    }

    MethodHandle require(Downcall downcall, String name) {
        MethodHandle handle = downcall.handle();
        if (handle == null) {
            throw new CriuUnavailableException("libcriu at " + location.library() + " has no " + name
                    + ": it is older than Cryo needs. Install CRIU 4.0 or newer (run bin/bootstrap).");
        }
        return handle;
    }

    /**
     * A libcriu function whose downcall handle is made on first use: a restore needs about half of
     * them, and each handle costs milliseconds to make on the launcher's restore path.
     */
    final class Downcall {
        private final String name;
        private final FunctionDescriptor descriptor;
        private final Linker.Option[] options;
        private volatile MethodHandle handle;
        private volatile boolean looked;

        Downcall(String name, FunctionDescriptor descriptor, Linker.Option... options) {
            this.name = name;
            this.descriptor = descriptor;
            this.options = options;
        }

        /** The handle, or null when this libcriu lacks the function. */
        @SuppressWarnings("restricted")
        MethodHandle handle() {
            if (!looked) {
                synchronized (this) {
                    if (!looked) {
                        handle = lookup.find(name).map(s -> LINKER.downcallHandle(s, descriptor, options)).orElse(null);
                        looked = true;
                    }
                }
            }
            return handle;
        }
    }
}
