package dev.cryo.internal;

import dev.cryo.internal.os.LibC;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.OptionalInt;

/**
 * Ends a CRIU dump that hangs. While CRIU dumps a process, that process's threads are stopped
 * under ptrace, so the process cannot time the dump out itself: only a process outside it can end
 * CRIU, and CRIU's death lets the dumped process go on (the kernel detaches its tracees).
 *
 * <p>The watcher is a small {@code /bin/sh} loop, started just before the dump and detached from
 * the dumped process (its parent exits at once, so it is no child of the app and not in the image).
 * Five times a second it reads the app's {@code TracerPid}; once the app has been traced for
 * longer than the limit, it writes the tracer's pid into the marker file and kills the tracer (only
 * a process whose command line names criu) with SIGKILL. It ends by itself when the app is no
 * longer traced after having been (the dump is over), when the app is gone, or after twice the
 * limit; {@link #close()} ends it at once.
 */
public final class DumpWatcher implements AutoCloseable {
    /** The watcher's name on its command line ({@code $0}), so that it can be told from others. */
    static final String NAME = "cryo-dump-watcher";
    private static final double TICK_SECONDS = 0.2;

    // $1 app pid, $2 ticks traced before CRIU is ended, $3 marker file, $4 ticks to live at most.
    // Runs in a background subshell whose parent exits at once; prints the subshell's pid.
    private static final String SCRIPT = """
            app=$1 ticks=$2 marker=$3 life=$4
            (
              n=0 seen=0
              while [ -d "/proc/$app" ] && [ "$life" -gt 0 ]; do
                t=0
                while read -r k v; do if [ "$k" = TracerPid: ]; then t=$v; break; fi; done < "/proc/$app/status"
                if [ "$t" != 0 ]; then
                  seen=1 n=$((n + 1))
                  if [ "$n" -ge "$ticks" ] && grep -q criu "/proc/$t/cmdline"; then
                    echo "$t" > "$marker"
                    kill -9 "$t"
                    exit 0
                  fi
                elif [ "$seen" = 1 ]; then
                  exit 0
                fi
                life=$((life - 1))
                sleep %s
              done
            ) </dev/null >/dev/null 2>&1 &
            echo $!
            """.formatted(String.format(Locale.ROOT, "%.1f", TICK_SECONDS));

    private final int pid;
    private final long appPid;
    private final Path marker;
    private final Duration limit;

    private DumpWatcher(int pid, long appPid, Path marker, Duration limit) {
        this.pid = pid;
        this.appPid = appPid;
        this.marker = marker;
        this.limit = limit;
    }

    /**
     * The default limit for a process of {@code residentBytes}: 10 s per GB, at least 60 s. (CRIU
     * writes a JVM's pages at several hundred MB/s here; a dump ten times slower is stuck, or the
     * disk is too slow for checkpoints anyway.)
     */
    public static Duration defaultLimit(long residentBytes) {
        return Duration.ofSeconds(Math.max(60, (long) Math.ceil(residentBytes / 1e9 * 10)));
    }

    /**
     * Starts watching {@code appPid}; the marker file (which must not exist yet) is written when
     * the watcher ends CRIU.
     *
     * @throws IOException when {@code /bin/sh} cannot be started
     */
    public static DumpWatcher start(long appPid, Duration limit, Path marker) throws IOException {
        long ticks = Math.max(1, (long) Math.ceil(limit.toMillis() / 1000.0 / TICK_SECONDS));
        Process sh = new ProcessBuilder("/bin/sh", "-c", SCRIPT, NAME, Long.toString(appPid), Long.toString(ticks),
                marker.toString(), Long.toString(2 * ticks + 300))
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        String out = new String(sh.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
        try {
            sh.waitFor(); // reaped here: the app has no child left of it when CRIU starts
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            return new DumpWatcher(Integer.parseInt(out), appPid, marker, limit);
        } catch (NumberFormatException e) {
            throw new IOException("the dump watcher (/bin/sh) did not start: it printed '" + out + "'");
        }
    }

    /** The limit this watcher enforces. */
    public Duration limit() {
        return limit;
    }

    /** The pid of the CRIU this watcher ended, when it ended one. */
    public OptionalInt endedCriu() {
        try {
            return OptionalInt.of(Integer.parseInt(Files.readString(marker).trim()));
        } catch (IOException | NumberFormatException e) {
            return OptionalInt.empty();
        }
    }

    /**
     * Ends the watcher and waits (up to 2 s) until it is gone. Call it in the process that was
     * dumped, never in a restored copy: there this pid belongs to no watcher of ours.
     */
    @Override
    public void close() {
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (isOurs() && System.nanoTime() < deadline) {
            LibC.kill(pid, 9);
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** True while {@link #pid} is still this watcher, alive (a zombie awaiting its new parent counts as gone). */
    private boolean isOurs() {
        if (ProcessFacts.isZombie(pid)) {
            return false;
        }
        try {
            String cmdline = new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")), StandardCharsets.UTF_8);
            return cmdline.contains("\0" + NAME + "\0" + appPid + "\0");
        } catch (IOException e) {
            return false;
        }
    }
}
