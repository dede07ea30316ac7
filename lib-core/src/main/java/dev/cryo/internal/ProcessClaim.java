package dev.cryo.internal;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.Properties;

/**
 * A file saying "a live process works here": the claim on checkpointing a build into a store, the
 * owner of an unfinished image. Its owner is a process identity, never a bare pid, which a later
 * process, a restored copy (same pid, new start time) or a process of another PID namespace (a
 * container sharing the store) may have too: boot id, PID namespace, start time and pid.
 *
 * <p>A claim is stale when it was made in another boot, or in our PID namespace by a process that
 * no longer runs (no live process has that pid with that start time). One made in another PID
 * namespace cannot be checked: it counts as alive until its file is older than
 * {@link #FOREIGN_LIMIT}, then as stale; so does one that cannot be read (being written, or made
 * by an older Cryo, which wrote a bare pid).
 */
public final class ProcessClaim {
    /** How long a claim whose owner cannot be checked counts as alive. */
    public static final Duration FOREIGN_LIMIT = Duration.ofHours(1);

    /**
     * A process, told apart from any other of this machine, past or future.
     *
     * @param bootId       /proc/sys/kernel/random/boot_id
     * @param pidNamespace the inode of its PID namespace (/proc/self/ns/pid)
     * @param startTicks   when it started, in clock ticks after boot (field 22 of /proc/PID/stat)
     * @param pid          its pid in that namespace
     */
    public record Owner(String bootId, long pidNamespace, long startTicks, long pid) {
        /** This process now (not remembered: a restored copy is another process). */
        public static Owner current() throws IOException {
            long pid = ProcessHandle.current().pid();
            long start = ProcessFacts.startTicks("self")
                    .orElseThrow(() -> new IOException("no start time in /proc/self/stat"));
            return new Owner(currentBootId(), currentPidNamespace(), start, pid);
        }

        /** Process {@code pid} of this PID namespace, or empty when it does not run. */
        public static Optional<Owner> of(long pid) throws IOException {
            Optional<Long> start = ProcessFacts.startTicks(Long.toString(pid));
            return start.isEmpty() ? Optional.empty()
                    : Optional.of(new Owner(currentBootId(), currentPidNamespace(), start.get(), pid));
        }

        /** Whether this process still runs: false when it cannot be told (another boot or PID namespace). */
        boolean running() throws IOException {
            return bootId.equals(currentBootId()) && pidNamespace == currentPidNamespace()
                    && ProcessFacts.startTicks(Long.toString(pid)).orElse(-1L) == startTicks;
        }

        /** Whether running() can tell: same boot, same PID namespace. */
        boolean checkable() throws IOException {
            return !bootId.equals(currentBootId()) || pidNamespace == currentPidNamespace();
        }

        @Override
        public String toString() {
            return "pid " + pid + " (PID namespace " + pidNamespace + ", started at tick " + startTicks + ")";
        }
    }

    private ProcessClaim() {}

    /**
     * Creates {@code file}, 0600, naming this process: written whole into a file of its own first,
     * then linked to its name, which fails when the name exists.
     *
     * @throws FileAlreadyExistsException when there is a claim already
     */
    public static void create(Path file) throws IOException {
        create(file, Owner.current());
    }

    /** {@link #create(Path)} on behalf of {@code me} (tests: a claim of another process). */
    public static void create(Path file, Owner me) throws IOException {
        Properties p = new Properties();
        p.setProperty("boot", me.bootId());
        p.setProperty("pidNamespace", Long.toString(me.pidNamespace()));
        p.setProperty("start", Long.toString(me.startTicks()));
        p.setProperty("pid", Long.toString(me.pid()));
        StringWriter text = new StringWriter();
        p.store(text, "Cryo: the process that holds this");
        Path draft = file.resolveSibling(file.getFileName() + ".new-" + me.pid() + "-" + System.nanoTime());
        Files.createFile(draft, PosixFilePermissions.asFileAttribute(Permissions.FILE));
        try {
            Files.writeString(draft, text.toString());
            Files.createLink(file, draft);
        } finally {
            Files.deleteIfExists(draft);
        }
    }

    /** Who holds {@code file}, or empty when it cannot be read. */
    public static Optional<Owner> owner(Path file) {
        try {
            Properties p = new Properties();
            p.load(new StringReader(Files.readString(file)));
            return Optional.of(new Owner(p.getProperty("boot"), Long.parseLong(p.getProperty("pidNamespace")),
                    Long.parseLong(p.getProperty("start")), Long.parseLong(p.getProperty("pid"))));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Whether {@code file}'s claim may be taken over or its work deleted (see the class comment); false when it is gone. */
    public static boolean stale(Path file) {
        try {
            Optional<Owner> owner = owner(file);
            if (owner.isPresent() && owner.get().checkable()) {
                return !owner.get().running();
            }
            return olderThanLimit(file);
        } catch (IOException e) {
            return false; // cannot be told: leave it
        }
    }

    /**
     * Whether {@code path} was last written more than {@link #FOREIGN_LIMIT} ago: what decides for a
     * claim whose owner cannot be checked; false when it is gone (released meanwhile).
     */
    static boolean olderThanLimit(Path path) {
        try {
            return Files.getLastModifiedTime(path, LinkOption.NOFOLLOW_LINKS).toInstant().plus(FOREIGN_LIMIT)
                    .isBefore(Instant.now());
        } catch (IOException e) {
            return false;
        }
    }

    /** Whether {@code file} is held by this very process (not by the one a restored copy was dumped from). */
    public static boolean mine(Path file) {
        try {
            Owner me = Owner.current();
            return owner(file).map(me::equals).orElse(false);
        } catch (IOException e) {
            return false;
        }
    }

    /** Who holds {@code file}, for messages. */
    public static String holder(Path file) {
        Optional<Owner> owner = owner(file);
        if (owner.isEmpty()) {
            return "an unreadable claim " + file;
        }
        Owner o = owner.get();
        try {
            if (!o.checkable()) {
                return o + ", in another PID namespace";
            }
        } catch (IOException e) {
            return o.toString();
        }
        return "pid " + o.pid() + ProcessHandle.of(o.pid()).flatMap(h -> h.info().commandLine()).map(c -> ": " + c)
                .orElse("");
    }

    static String currentBootId() throws IOException {
        return Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).strip();
    }

    /** The inode of this process's PID namespace: /proc/self/ns/pid links to {@code pid:[INODE]}. */
    static long currentPidNamespace() throws IOException {
        String link = Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString();
        try {
            return Long.parseLong(link.substring(link.indexOf('[') + 1, link.indexOf(']')));
        } catch (RuntimeException e) {
            throw new IOException("unexpected /proc/self/ns/pid: " + link, e);
        }
    }
}
