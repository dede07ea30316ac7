package dev.cryo.internal.launch;

import dev.cryo.internal.ImageMetadata;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The time limit of one restore, so that a restore cannot hang the start: once it passes, every
 * process the launcher started since the restore began (CRIU, the lazy-pages daemon, the restored
 * tree, which come to the launcher as its subreaper) is killed, again every 100 ms until the
 * restore call returns, and {@link #fired()} says so. A dumped image's CRIU restore spinning on a
 * damaged pages file was seen to run forever at 100% CPU.
 */
final class RestoreTimeout {
    static final String PROPERTY = "cryo.restore.timeout";
    static final Duration FLOOR = Duration.ofSeconds(30);
    private static final int DUMP_TIMES = 10;

    private final Duration limit;
    private final Set<Integer> childrenBefore;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean fired;

    private RestoreTimeout(Duration limit, Set<Integer> childrenBefore) {
        this.limit = limit;
        this.childrenBefore = Set.copyOf(childrenBefore);
    }

    /**
     * The limit for restoring {@code image}: {@code flag} ({@code --restore-timeout}) when given,
     * else the system property {@value #PROPERTY} (seconds), else {@value #DUMP_TIMES} times the
     * image's own dump time, at least {@link #FLOOR}.
     */
    static Duration limit(Duration flag, ImageMetadata image) {
        if (flag != null) {
            return flag;
        }
        String property = System.getProperty(PROPERTY);
        if (property != null) {
            try {
                double s = Double.parseDouble(property);
                if (s > 0) {
                    return Duration.ofMillis(Math.round(s * 1000));
                }
            } catch (NumberFormatException e) {
                // the default, then
            }
        }
        Duration fromDump = Duration.ofMillis(image.timings().dumpMillis() * DUMP_TIMES);
        return fromDump.compareTo(FLOOR) > 0 ? fromDump : FLOOR;
    }

    /** Starts the clock; the children the launcher had before ({@code childrenBefore}) are never killed. */
    static RestoreTimeout start(Duration limit, Set<Integer> childrenBefore) {
        RestoreTimeout t = new RestoreTimeout(limit, childrenBefore);
        Thread.ofPlatform().daemon().name("cryo-restore-timeout").start(t::watch);
        return t;
    }

    Duration limit() {
        return limit;
    }

    /** Whether the limit passed and the restore's processes were killed. */
    boolean fired() {
        return fired;
    }

    /** The restore returned: no more killing. */
    void stop() {
        stopped.countDown();
    }

    private void watch() {
        try {
            if (stopped.await(limit.toNanos(), TimeUnit.NANOSECONDS)) {
                return;
            }
            fired = true;
            do {
                killNewChildren();
            } while (!stopped.await(100, TimeUnit.MILLISECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Kills every process below the launcher that is not (under) one of the children it had before. */
    void killNewChildren() {
        ProcessHandle.current().children().filter(c -> !childrenBefore.contains((int) c.pid())).forEach(c -> {
            c.descendants().forEach(ProcessHandle::destroyForcibly);
            c.destroyForcibly();
        });
    }
}
