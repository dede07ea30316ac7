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
            String stat = Files.readString(Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(f[19]); // field 22, starttime, counted from field 3
            return bootEpoch + ticks * 1000 / CLOCK_TICKS;
        } catch (IOException | RuntimeException e) {
            return ProcessHandle.current().info().startInstant().map(java.time.Instant::toEpochMilli).orElse(0L);
        }
    }

    private static final long CLOCK_TICKS = 100; // USER_HZ on every Linux architecture the JDK runs on

    /** True when {@code pid} exists and is a zombie. */
    public static boolean isZombie(int pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (IOException | RuntimeException e) {
            return false;
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
