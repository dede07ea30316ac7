package dev.cryo;

import dev.cryo.internal.ProcessFacts;
import dev.cryo.internal.os.LibC;
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
        /** A listening TCP socket: every restored copy listens on the same port. */
        TCP_LISTENING,
        /** A connected unix socket: its peer may be outside the app. */
        UNIX_SOCKET,
        /** A file open for writing: restored copies write at the offset of the checkpoint. */
        FILE_OPEN_FOR_WRITING,
        /** A file deleted while still open: copied into the image only up to the ghost limit. */
        DELETED_FILE,
        /** A child process: dumped and restored with the app. */
        CHILD_PROCESS,
        /** A thread in an uninterruptible call (state D): the dump waits for it, or fails. */
        THREAD_BLOCKED,
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

    /** Whether this process's session leader lives in an outer PID namespace (getsid answers 0). */
    static boolean sessionLeaderOutside() {
        return LibC.getsid(0) == 0;
    }

    /** Whether this process leads its process group, which makes setsid() fail. */
    static boolean leadsProcessGroup() {
        return LibC.getpgid(0) == ProcessHandle.current().pid();
    }

    /**
     * Examines this process now.
     *
     * @return the findings, empty when nothing stands in the way
     */
    public static List<Finding> check() {
        List<Finding> out = new ArrayList<>();
        Map<Long, String[]> tcp = tcpSockets();
        Map<Long, String> unix = connectedUnixSockets();
        Map<Path, String> fds = openDescriptors();
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
                    out.add(new Finding(Kind.TCP_LISTENING, "TCP listener on " + t[0],
                            "every restored copy listens on this port: run one copy per host (or network"
                                    + " namespace), or open the listener in afterRestore"));
                } else if (unix.containsKey(inode) && !ownSockets.contains(inode - 1)
                        && !ownSockets.contains(inode + 1)) {
                    // A socketpair's two ends get neighbouring inodes: both inside the app, no finding.
                    out.add(new Finding(Kind.UNIX_SOCKET, "connected unix socket " + unix.get(inode),
                            "close it in beforeCheckpoint, or CheckpointOptions.externalUnixSockets(true)"
                                    + " if its peer is outside the app"));
                }
            } else if (target.endsWith(" (deleted)")) {
                out.add(new Finding(Kind.DELETED_FILE, target, "close it before the checkpoint, or raise"
                        + " CheckpointOptions.ghostLimitBytes above its size (CRIU copies it into the image)"));
            } else if (!isStdio(fd) && target.startsWith("/") && !target.startsWith("/dev/")
                    && !target.startsWith("/proc/") && writable(fd) && Files.isRegularFile(Path.of(target))) {
                out.add(new Finding(Kind.FILE_OPEN_FOR_WRITING, target, "restored copies go on writing at the"
                        + " offset of the checkpoint, and the restore fails if the file shrank: close it in"
                        + " beforeCheckpoint and reopen it (append) in afterRestore"));
            }
        }
        if (sessionLeaderOutside() && leadsProcessGroup()) {
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
        return out;
    }

    // bin/cryo gives a restored app its own stdin/stdout/stderr, whatever they were at checkpoint.
    private static boolean isStdio(Path fd) {
        String n = fd.getFileName().toString();
        return n.equals("0") || n.equals("1") || n.equals("2");
    }

    private static boolean writable(Path fd) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd.getFileName()))) {
                if (line.startsWith("flags:")) {
                    return (Integer.parseInt(line.substring(6).trim(), 8) & 3) != 0; // O_WRONLY or O_RDWR
                }
            }
        } catch (IOException | NumberFormatException e) {
            return false;
        }
        return false;
    }

    /** This process's descriptors and what each points to, read once. */
    private static Map<Path, String> openDescriptors() {
        Map<Path, String> fds = new java.util.LinkedHashMap<>();
        try (var dir = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path fd : dir) {
                try {
                    fds.put(fd, Files.readSymbolicLink(fd).toString());
                } catch (IOException e) {
                    // closed meanwhile (the directory stream's own descriptor, say)
                }
            }
        } catch (IOException e) {
            // /proc unreadable: nothing to report
        }
        return fds;
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
