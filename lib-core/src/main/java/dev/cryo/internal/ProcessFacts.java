package dev.cryo.internal;

import dev.cryo.internal.os.LibC;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** What /proc says about this process, for pre-flight checks and the image's metadata. */
public final class ProcessFacts {
    static final int CAP_SYS_PTRACE = 19;
    static final int CAP_SYS_ADMIN = 21;
    static final int CAP_CHECKPOINT_RESTORE = 40;

    private ProcessFacts() {}

    /** This process's command line, as the kernel has it. */
    public static List<String> commandLine() {
        try {
            byte[] raw = Files.readAllBytes(Path.of("/proc/self/cmdline"));
            List<String> args = new ArrayList<>();
            int start = 0;
            for (int i = 0; i < raw.length; i++) {
                if (raw[i] == 0) {
                    args.add(new String(raw, start, i - start, StandardCharsets.UTF_8));
                    start = i + 1;
                }
            }
            return args;
        } catch (IOException e) {
            return ProcessHandle.current().info().commandLine().map(List::of).orElse(List.of());
        }
    }

    /** The pids of this process's children (every thread's), from /proc. */
    public static java.util.Set<Integer> childPids() {
        java.util.Set<Integer> pids = new java.util.TreeSet<>();
        try (var tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path task : tasks) {
                try {
                    for (String pid : Files.readString(task.resolve("children")).trim().split("\\s+")) {
                        if (!pid.isEmpty()) {
                            pids.add(Integer.parseInt(pid));
                        }
                    }
                } catch (IOException | NumberFormatException e) {
                    // The thread ended meanwhile.
                }
            }
        } catch (IOException e) {
            return pids;
        }
        return pids;
    }

    /**
     * When this process started, in epoch milliseconds, to about 20 ms: its start in clock ticks
     * after boot (/proc/self/stat) plus the boot time taken from /proc/uptime. (The JDK's
     * {@code ProcessHandle.Info.startInstant()} uses the boot time rounded to whole seconds.)
     */
    public static long startEpochMillis() {
        try {
            long now = System.currentTimeMillis();
            String uptime = Files.readString(Path.of("/proc/uptime")).trim().split("\\s+")[0];
            long bootEpoch = now - Math.round(Double.parseDouble(uptime) * 1000);
            long ticks = startTicks("self").orElseThrow();
            return bootEpoch + ticks * 1000 / CLOCK_TICKS;
        } catch (IOException | RuntimeException e) {
            return ProcessHandle.current().info().startInstant().map(java.time.Instant::toEpochMilli).orElse(0L);
        }
    }

    /**
     * When process {@code pid} ({@code self} for this one) started, in clock ticks after boot:
     * field 22 of /proc/PID/stat, counted after the command in parentheses, which may hold spaces.
     * Empty for no such process, or a zombie.
     */
    public static Optional<Long> startTicks(String pid) {
        try {
            String stat = Files.readString(Path.of("/proc", pid, "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return f[0].equals("Z") ? Optional.empty() : Optional.of(Long.parseLong(f[19]));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static final long CLOCK_TICKS = 100; // USER_HZ on every Linux architecture the JDK runs on

    /**
     * Reaps this process's zombie children, except those in {@code keep} (children whose exit status
     * someone else, such as the JDK's process reaper, still collects); returns the pids reaped.
     */
    public static List<Integer> reapZombieChildren(java.util.Set<Integer> keep) {
        List<Integer> reaped = new ArrayList<>();
        for (int pid : childPids()) {
            if (!keep.contains(pid) && isZombie(pid) && dev.cryo.internal.os.LibC.reapIfExited(pid)) {
                reaped.add(pid);
            }
        }
        return reaped;
    }

    /** True when {@code pid} exists and is a zombie. */
    public static boolean isZombie(int pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Who holds {@code pid} now, in words: a process with its command, state and parent, or the
     * process a thread of that id belongs to; empty when no process or thread has it.
     */
    public static Optional<String> holderOf(int pid) {
        Map<String, String> status = status(pid);
        if (status.isEmpty()) {
            return Optional.empty();
        }
        int tgid = parseInt(status.get("Tgid"), pid);
        if (tgid != pid) {
            return Optional.of("thread " + pid + " (" + status.getOrDefault("Name", "?") + ") of "
                    + holderOf(tgid).orElse("process " + tgid));
        }
        String state = status.getOrDefault("State", "?");
        int ppid = parseInt(status.get("PPid"), 0);
        Map<String, String> parent = status(ppid);
        String parentText = parent.isEmpty() ? "parent " + ppid
                : "parent " + ppid + ": " + command(ppid, parent.getOrDefault("Name", "?"));
        String what = state.startsWith("Z") ? "; it has exited, and its parent has not reaped it (a zombie holds its PID"
                + " until then)" : "";
        return Optional.of("process " + pid + " (" + command(pid, status.getOrDefault("Name", "?")) + "; state "
                + state + "; " + parentText + what + ")");
    }

    /** The command line of {@code pid}, long arguments (class paths) shortened; its name when it has none (a zombie). */
    private static String command(int pid, String name) {
        try {
            byte[] raw = Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline"));
            List<String> args = new ArrayList<>();
            for (String a : new String(raw, StandardCharsets.UTF_8).split("\0")) {
                args.add(a.length() > 80 ? a.substring(0, 20) + "..." + a.substring(a.length() - 40) : a);
            }
            String joined = String.join(" ", args).trim();
            return joined.isEmpty() ? "[" + name + "]" : joined;
        } catch (IOException e) {
            return "[" + name + "]";
        }
    }

    /** /proc/PID/status as a map (empty when there is no such process or thread). */
    private static Map<String, String> status(int pid) {
        Map<String, String> fields = new LinkedHashMap<>();
        if (pid <= 0) {
            return fields;
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                int colon = line.indexOf(':');
                if (colon > 0) {
                    fields.put(line.substring(0, colon), line.substring(colon + 1).trim());
                }
            }
        } catch (IOException e) {
            fields.clear();
        }
        return fields;
    }

    private static int parseInt(String s, int otherwise) {
        try {
            return s == null ? otherwise : Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }

    /** Resident memory in bytes (what CRIU will write, roughly). */
    public static long residentBytes() {
        return statusField("VmRSS").map(v -> Long.parseLong(v.replaceAll("[^0-9]", "")) * 1024).orElse(0L);
    }

    /** The effective capabilities, or 0 when unreadable. */
    static long effectiveCapabilities() {
        return statusField("CapEff").map(v -> Long.parseUnsignedLong(v.trim(), 16)).orElse(0L);
    }

    /** True when this process may run CRIU: root with CAP_SYS_ADMIN, or the checkpoint capabilities. */
    public static boolean mayCheckpoint() {
        long caps = effectiveCapabilities();
        boolean admin = (caps & (1L << CAP_SYS_ADMIN)) != 0;
        boolean checkpoint = (caps & (1L << CAP_CHECKPOINT_RESTORE)) != 0 && (caps & (1L << CAP_SYS_PTRACE)) != 0;
        return admin || checkpoint;
    }

    /** The effective user id. */
    public static int effectiveUid() {
        return statusField("Uid").map(v -> Integer.parseInt(v.trim().split("\\s+")[1])).orElse(-1);
    }

    private static Optional<String> statusField(String name) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(name + ":")) {
                    return Optional.of(line.substring(name.length() + 1).trim());
                }
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    /**
     * The JVM's shared performance-data file (/tmp/hsperfdata_USER/PID), when it is mapped.
     * The original JVM deletes it when it exits, and CRIU must find it again at restore: the
     * image keeps a copy that the launcher puts back.
     */
    public static Optional<Path> hsperfdataFile() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                int at = line.indexOf("/hsperfdata_");
                if (at >= 0) {
                    return Optional.of(Path.of(line.substring(line.indexOf('/')).trim()));
                }
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    /**
     * How CRIU names what stdin, stdout and stderr are connected to, so that a restore can give
     * the restored process the launcher's instead (CRIU {@code --inherit-fd}): {@code pipe:[ino]},
     * {@code socket:[ino]}, {@code tty[rdev:dev]}, or a file's path without its leading '/'.
     */
    public static Map<Integer, String> stdioKeys() {
        Map<Integer, String> keys = new LinkedHashMap<>();
        for (int fd = 0; fd <= 2; fd++) {
            Path link = Path.of("/proc/self/fd/" + fd);
            try {
                String target = Files.readSymbolicLink(link).toString();
                keys.put(fd, criuKey(link, target));
            } catch (IOException | UnsupportedOperationException e) {
                // Closed: nothing to map.
            }
        }
        return keys;
    }

    static String criuKey(Path fdLink, String target) throws IOException {
        if (target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console")) {
            long rdev = (Long) Files.getAttribute(fdLink, "unix:rdev");
            long dev = (Long) Files.getAttribute(fdLink, "unix:dev");
            return String.format(Locale.ROOT, "tty[%x:%x]", rdev, dev);
        }
        if (target.startsWith("/")) {
            return target.substring(1);
        }
        return target;
    }

    /** Whether this process's session leader lives in an outer PID namespace (getsid answers 0). */
    public static boolean sessionLeaderOutside() {
        return LibC.getsid(0) == 0;
    }

    /** Whether this process leads its process group, which makes setsid() fail. */
    public static boolean leadsProcessGroup() {
        return LibC.getpgid(0) == ProcessHandle.current().pid();
    }
}
