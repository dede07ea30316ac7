package dev.cryo;

import dev.cryo.internal.checkpoint.CriuAccess;
import dev.cryo.internal.OpenFiles;
import dev.cryo.internal.ProcessFacts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What in this process would make a restore fail or misbehave, each with the fix. Runs by itself
 * before every checkpoint (findings are logged as warnings) and can be called on its own, without
 * checkpointing, to prepare an app for Cryo.
 */
public final class Preflight {

    /** The kinds of finding. */
    public enum Kind {
        /** An established TCP connection: CRIU refuses it unless {@code tcpEstablished(true)}. */
        TCP_ESTABLISHED,
        /**
         * A listening TCP socket: with CRIU 4.2 or newer it is dumped, and every restored copy
         * listens on the same port (which must be free then); older CRIU cannot dump it on kernels 6.16+.
         */
        TCP_LISTENING,
        /** A connected unix socket: its peer may be outside the app. */
        UNIX_SOCKET,
        /** A file open for writing: restored copies write at the offset of the checkpoint. */
        FILE_OPEN_FOR_WRITING,
        /** A file deleted while still open or mapped: copied into the image only up to the ghost limit. */
        DELETED_FILE,
        /** An open file whose path now names another file (an overmount, say): CRIU refuses to dump it. */
        FILE_REPLACED,
        /** An open file modified after this process started: the app may hold a mix of old and new. */
        FILE_CHANGED,
        /** A child process: dumped and restored with the app. */
        CHILD_PROCESS,
        /** A thread in an uninterruptible call (state D): the dump waits for it, or fails. */
        THREAD_BLOCKED,
        /**
         * A Java thread inside a native call that waits on something outside the JVM (a socket, a
         * pipe, a device, JNI code): the dump interrupts it, and after restore it resumes a call
         * whose other end may be gone.
         */
        THREAD_IN_NATIVE,
        /**
         * The session leader is outside the PID namespace and the process leads its own process
         * group: CRIU cannot dump it, and {@code checkpointNow()} cannot give it a session of its own.
         */
        SESSION_OUTSIDE_NAMESPACE
    }

    /**
     * One finding.
     *
     * @param kind what it is
     * @param what the thing found, in words (address, path, pid)
     * @param fix  what to do about it
     */
    public record Finding(Kind kind, String what, String fix) {
        @Override
        public String toString() {
            return kind + ": " + what + " -> " + fix;
        }
    }

    private Preflight() {}

    /**
     * Examines this process now.
     *
     * @return the findings, empty when nothing stands in the way
     */
    public static List<Finding> check() {
        List<Finding> out = new ArrayList<>();
        Map<Long, String[]> tcp = tcpSockets();
        Map<Long, String> unix = connectedUnixSockets();
        Map<Path, String> fds = OpenFiles.links();
        java.util.Set<Long> ownSockets = new java.util.HashSet<>();
        fds.values().stream().filter(t -> t.startsWith("socket:[")).forEach(t -> ownSockets.add(socketInode(t)));
        for (Map.Entry<Path, String> e : fds.entrySet()) {
            Path fd = e.getKey();
            String target = e.getValue();
            if (target.startsWith("socket:[")) {
                long inode = socketInode(target);
                String[] t = tcp.get(inode);
                if (t != null && t[2].equals("01")) {
                    out.add(new Finding(Kind.TCP_ESTABLISHED, "TCP connection " + t[0] + " -> " + t[1],
                            "close it in a Resource's beforeCheckpoint and reconnect in afterRestore, or"
                                    + " CheckpointOptions.tcpEstablished(true) (restore then needs the same addresses)"));
                } else if (t != null && t[2].equals("0A")) {
                    out.add(new Finding(Kind.TCP_LISTENING, "TCP listener on " + t[0], listenerFix()));
                } else if (unix.containsKey(inode) && !ownSockets.contains(inode - 1)
                        && !ownSockets.contains(inode + 1)) {
                    // A socketpair's two ends get neighbouring inodes: both inside the app, no finding.
                    out.add(new Finding(Kind.UNIX_SOCKET, "connected unix socket " + unix.get(inode),
                            "close it in beforeCheckpoint, or CheckpointOptions.externalUnixSockets(true)"
                                    + " if its peer is outside the app"));
                }
            } else if (target.endsWith(" (deleted)")) {
                out.add(new Finding(Kind.DELETED_FILE, target, "it was deleted, or replaced by a rename, while"
                        + " open: close it in beforeCheckpoint (and open the new one in afterRestore), or raise"
                        + " CheckpointOptions.ghostLimitBytes above its size (CRIU copies the old contents into"
                        + " the image)"));
            }
        }
        long started = ProcessFacts.startEpochMillis();
        for (OpenFiles.OpenFile f : OpenFiles.of(fds)) {
            if (f.fd() <= 2) {
                continue; // stdio: the launcher hands the restored process its own
            }
            if (!f.sameAsPath()) {
                out.add(new Finding(Kind.FILE_REPLACED, f.path() + " (fd " + f.fd() + ")", "its path now names"
                        + " another file (mounted over?), and CRIU refuses to dump it: close it in"
                        + " beforeCheckpoint and open the new one in afterRestore"));
            } else if (f.writable()) {
                out.add(new Finding(Kind.FILE_OPEN_FOR_WRITING, f.path().toString(), "restored copies go on writing"
                        + " at the offset of the checkpoint, and the restore fails if the file changed size (unless"
                        + " opened write-only for appending): close it in beforeCheckpoint and reopen it (append) in"
                        + " afterRestore"));
            } else if (f.modified() > started) {
                out.add(new Finding(Kind.FILE_CHANGED, f.path() + " (fd " + f.fd() + ")", "it was modified after"
                        + " this process started, so the app may hold a mix of old and new contents: reopen and reread"
                        + " it before the checkpoint. After the checkpoint, a change of its size stops the restore:"
                        + " keep it in the image with CheckpointOptions.storeFiles"));
            }
        }
        for (String mapped : deletedMappings()) {
            out.add(new Finding(Kind.DELETED_FILE, "mapped " + mapped, "a library or file the process maps was"
                    + " deleted or replaced after it was mapped (an upgrade of the JDK or a library while the app"
                    + " runs?): CRIU copies it into the image only up to CheckpointOptions.ghostLimitBytes; restart"
                    + " the app on the new files before checkpointing"));
        }
        if (ProcessFacts.sessionLeaderOutside() && ProcessFacts.leadsProcessGroup()) {
            out.add(new Finding(Kind.SESSION_OUTSIDE_NAMESPACE, "session leader outside this PID namespace, and"
                    + " this process leads its process group", "start the app through bin/cryo run, or with"
                    + " setsid (setsid java ...)"));
        }
        for (int pid : ProcessFacts.childPids()) {
            if (!ProcessFacts.isZombie(pid)) {
                String cmd = ProcessHandle.of(pid).flatMap(h -> h.info().commandLine()).orElse("?");
                out.add(new Finding(Kind.CHILD_PROCESS, "child process " + pid + " (" + cmd + ")",
                        "it is dumped and restored with the app (and needs its PID free at restore): stop it in"
                                + " beforeCheckpoint and start it again in afterRestore if it holds outside state"));
            }
        }
        try (var tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path task : tasks) {
                try {
                    String stat = Files.readString(task.resolve("stat"));
                    if (stat.substring(stat.lastIndexOf(')') + 2).startsWith("D")) {
                        String name = Files.readString(task.resolve("comm")).trim();
                        out.add(new Finding(Kind.THREAD_BLOCKED, "thread " + task.getFileName() + " (" + name
                                + ") is in an uninterruptible call", "let it finish (I/O on a slow or network file"
                                + " system?) before checkpointing"));
                    }
                } catch (IOException | RuntimeException e) {
                    // The thread ended meanwhile.
                }
            }
        } catch (IOException e) {
            // nothing to report
        }
        threadsInNative(out);
        return out;
    }

    // Native frames where JDK threads wait on the JVM itself: no finding.
    private static final java.util.Set<String> JVM_WAITS = java.util.Set.of(
            "java.lang.ref.Reference.waitForReferencePendingList", "jdk.internal.misc.Unsafe.park",
            "java.lang.Object.wait0", "java.lang.Thread.sleep0", "java.lang.Thread.sleepNanos0",
            "java.lang.Thread.yield0", "java.lang.ProcessHandleImpl.waitForProcessExit0",
            "java.lang.Thread.getStackTrace0", "java.lang.Thread.dumpThreads", "java.lang.Thread.getThreads");

    private static void threadsInNative(List<Finding> out) {
        Thread self = Thread.currentThread();
        for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
            Thread t = e.getKey();
            StackTraceElement[] stack = e.getValue();
            if (t == self || stack.length == 0 || !stack[0].isNativeMethod() || t.getState() != Thread.State.RUNNABLE) {
                continue;
            }
            String frame = stack[0].getClassName() + "." + stack[0].getMethodName();
            if (!JVM_WAITS.contains(frame)) {
                out.add(new Finding(Kind.THREAD_IN_NATIVE, "thread \"" + t.getName() + "\" is in native " + frame
                        + (stack.length > 1 ? " (from " + stack[stack.length > 2 ? 2 : 1] + ")" : ""), "the dump"
                        + " interrupts the call and the restored copy resumes it; if it waits on something outside"
                        + " the process (socket, pipe, device, JNI), stop the thread in beforeCheckpoint and start"
                        + " it again in afterRestore"));
            }
        }
    }

    /** Paths of deleted files this process maps (each once). */
    private static List<String> deletedMappings() {
        java.util.Set<String> found = new java.util.LinkedHashSet<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                int slash = line.indexOf('/');
                if (slash > 0 && line.endsWith(" (deleted)") && !line.contains("/memfd:")
                        && !line.contains("/dev/shm/") && !line.contains("/SYSV")
                        && !line.contains("/dev/zero") // shared anonymous memory
                        && !line.contains("/hsperfdata_")) { // Cryo unlinks the JVM's own perf-data file
                    found.add(line.substring(slash));
                }
            }
        } catch (IOException e) {
            // nothing to report
        }
        return List.copyOf(found);
    }

    /** What to do about a listening socket, for the CRIU in use (its version, when known). */
    private static String listenerFix() {
        java.util.OptionalInt v = CriuAccess.versionIfKnown();
        String fine = "the restored copy listens on the same port again, so the port must be free at restore (the"
                + " original stopped by then); copies restored side by side need a network namespace each, or open"
                + " the listener in afterRestore";
        String old = "close the listener in a Resource's beforeCheckpoint and open it again in afterRestore, or"
                + " update CRIU to 4.2 or newer (bin/bootstrap installs it)";
        if (v.isEmpty()) {
            return "with CRIU 4.2 or newer " + fine + "; CRIU before 4.2 cannot dump TCP sockets on kernels 6.16 and"
                    + " newer (\"Can't get 1:16 opt\"): " + old;
        }
        String version = "CRIU " + dev.cryo.internal.criu.CriuVersion.format(v.getAsInt());
        if (v.getAsInt() >= CriuAccess.TCP_SOCKETS_VERSION) {
            return version + " dumps it: " + fine;
        }
        return version + " (older than 4.2) cannot dump TCP sockets on kernels 6.16 and newer (\"Can't get 1:16"
                + " opt\"): " + old;
    }

    private static long socketInode(String target) {
        return Long.parseLong(target.substring(8, target.length() - 1));
    }

    /** socket inode -> {local, remote, state} from /proc/net/tcp and tcp6. */
    private static Map<Long, String[]> tcpSockets() {
        Map<Long, String[]> map = new HashMap<>();
        for (String file : new String[] {"/proc/self/net/tcp", "/proc/self/net/tcp6"}) {
            try {
                List<String> lines = Files.readAllLines(Path.of(file));
                for (String line : lines.subList(1, lines.size())) {
                    String[] f = line.trim().split("\\s+");
                    map.put(Long.parseLong(f[9]), new String[] {address(f[1]), address(f[2]), f[3]});
                }
            } catch (IOException | RuntimeException e) {
                // no such table
            }
        }
        return map;
    }

    /** inode -> path (or "unnamed") of connected unix stream sockets, from /proc/net/unix. */
    private static Map<Long, String> connectedUnixSockets() {
        Map<Long, String> map = new HashMap<>();
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/self/net/unix"));
            for (String line : lines.subList(1, lines.size())) {
                String[] f = line.trim().split("\\s+");
                if (f.length >= 7 && f[5].equals("03")) { // SS_CONNECTED
                    map.put(Long.parseLong(f[6]), f.length > 7 ? f[7] : "(unnamed)");
                }
            }
        } catch (IOException | RuntimeException e) {
            // no such table
        }
        return map;
    }

    /** "0100007F:1F90" as "127.0.0.1:8080" (IPv4; IPv6 shown as the kernel writes it). */
    static String address(String hex) {
        String[] p = hex.split(":");
        int port = Integer.parseInt(p[1], 16);
        if (p[0].length() == 8) {
            long a = Long.parseLong(p[0], 16);
            return String.format(Locale.ROOT, "%d.%d.%d.%d:%d", a & 0xff, (a >> 8) & 0xff, (a >> 16) & 0xff,
                    (a >> 24) & 0xff, port);
        }
        if (p[0].startsWith("0000000000000000FFFF0000")) { // IPv4-mapped: Java's dual-stack sockets
            return address(p[0].substring(24) + ":" + p[1]);
        }
        byte[] b = new byte[16];
        for (int w = 0; w < 4; w++) { // four 32-bit words, each in host (little-endian) order
            long word = Long.parseLong(p[0].substring(w * 8, w * 8 + 8), 16);
            for (int i = 0; i < 4; i++) {
                b[w * 4 + i] = (byte) (word >> (8 * i));
            }
        }
        try {
            return "[" + java.net.InetAddress.getByAddress(b).getHostAddress() + "]:" + port;
        } catch (java.net.UnknownHostException e) {
            return "[" + p[0] + "]:" + port;
        }
    }
}
