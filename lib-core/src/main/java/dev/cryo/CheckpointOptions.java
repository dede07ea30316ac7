package dev.cryo;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * How {@link Checkpointer#checkpointNow(CheckpointOptions)} takes its snapshot. Immutable; make one
 * with {@link #builder()}. Every option has a default that suits a server started by {@code bin/cryo}.
 */
public final class CheckpointOptions {
    private static final CheckpointOptions DEFAULTS = builder().build();

    private final Path imageDirectory;
    private final boolean exitAfterCheckpoint;
    private final boolean tcpEstablished;
    private final boolean externalUnixSockets;
    private final boolean fileLocks;
    private final long ghostLimitBytes;
    private final int criuLogLevel;
    private final Duration gpuLockTimeout;
    private final boolean collectGarbage;
    private final List<Path> storeFiles;
    private final boolean gpuMemoryFiles;
    private final Duration dumpTimeout;

    private CheckpointOptions(Builder b) {
        this.dumpTimeout = b.dumpTimeout;
        this.storeFiles = List.copyOf(b.storeFiles);
        this.gpuMemoryFiles = b.gpuMemoryFiles;
        this.collectGarbage = b.collectGarbage;
        this.imageDirectory = b.imageDirectory;
        this.exitAfterCheckpoint = b.exitAfterCheckpoint;
        this.tcpEstablished = b.tcpEstablished;
        this.externalUnixSockets = b.externalUnixSockets;
        this.fileLocks = b.fileLocks;
        this.ghostLimitBytes = b.ghostLimitBytes;
        this.criuLogLevel = b.criuLogLevel;
        this.gpuLockTimeout = b.gpuLockTimeout;
    }

    /** The options used by {@link Checkpointer#checkpointNow()}. */
    public static CheckpointOptions defaults() {
        return DEFAULTS;
    }

    /** A builder starting from the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The image store set in code, if any. Where the snapshot really goes is decided in this order:
     * the launcher's {@code --image} (when started by {@code bin/cryo}), this option, the system
     * property {@code cryo.image.dir}, the environment variable {@code CRYO_IMAGE_DIR}. There is no
     * implicit default: with none of them, {@code checkpointNow()} returns {@code SKIPPED} and says
     * how to set one. The value {@code default} for the property or the variable opts in to
     * {@code ~/.cryo/images/<main class or jar>}. A remote store, {@code s3://BUCKET/PREFIX}, is
     * written into its local cache {@code $CRYO_HOME/cache/BUCKET/PREFIX}; {@code bin/cryo run}
     * publishes it (README, "A fleet").
     */
    public Optional<Path> imageDirectory() {
        return Optional.ofNullable(imageDirectory);
    }

    /** Whether the original process exits (status 0) once its snapshot is safely written. */
    public boolean exitAfterCheckpoint() {
        return exitAfterCheckpoint;
    }

    /** Whether established TCP connections are kept in the snapshot (CRIU {@code --tcp-established}). */
    public boolean tcpEstablished() {
        return tcpEstablished;
    }

    /** Whether unix sockets connected to processes outside the app are allowed (CRIU {@code --ext-unix-sk}). */
    public boolean externalUnixSockets() {
        return externalUnixSockets;
    }

    /** Whether file locks are kept in the snapshot (CRIU {@code --file-locks}). */
    public boolean fileLocks() {
        return fileLocks;
    }

    /** The largest deleted-but-open file copied into the snapshot (CRIU {@code --ghost-limit}). */
    public long ghostLimitBytes() {
        return ghostLimitBytes;
    }

    /** CRIU's log level, 1 (errors) to 4 (debug); its log is kept in the image directory. */
    public int criuLogLevel() {
        return criuLogLevel;
    }

    /** How long to wait for running GPU work to finish before the GPU state is locked. */
    public Duration gpuLockTimeout() {
        return gpuLockTimeout;
    }

    /** Whether a full garbage collection runs before the dump, to keep the image small. */
    public boolean collectGarbage() {
        return collectGarbage;
    }

    /** The files copied into the image and put back before each restore, in order. */
    public List<Path> storeFiles() {
        return storeFiles;
    }

    /** Whether the host copy of GPU memory goes into files of its own (see the builder). */
    public boolean gpuMemoryFiles() {
        return gpuMemoryFiles;
    }

    /**
     * The longest CRIU may hold the process stopped for its dump, when set in code. A dump that
     * takes longer is ended from outside the process (whose threads are stopped meanwhile): the
     * checkpoint fails with {@link CheckpointException.Reason#DUMP_TIMEOUT} and the app goes on.
     * Where it is not set here, the limit is the system property {@code cryo.dump.timeout}
     * (seconds), else the environment variable {@code CRYO_DUMP_TIMEOUT} (which {@code bin/cryo run
     * --dump-timeout SECONDS} sets), else 10 s per GB of the process's resident memory, at least 60 s.
     *
     * @return the limit set in code, if any
     */
    public Optional<Duration> dumpTimeout() {
        return Optional.ofNullable(dumpTimeout);
    }

    /** Builds {@link CheckpointOptions}. */
    public static final class Builder {
        private Path imageDirectory;
        private boolean exitAfterCheckpoint;
        private boolean tcpEstablished;
        private boolean externalUnixSockets;
        private boolean fileLocks;
        private long ghostLimitBytes = 1L << 20;
        private int criuLogLevel = Integer.getInteger("cryo.criu.logLevel", 2);
        private Duration gpuLockTimeout = Duration.ofSeconds(30);
        private boolean collectGarbage = !Boolean.getBoolean("cryo.noGc");
        private final List<Path> storeFiles = new ArrayList<>();
        private boolean gpuMemoryFiles = !"false".equals(System.getProperty("cryo.gpu.memoryFiles"));
        private Duration dumpTimeout;

        private Builder() {}

        /** Where snapshots are stored (see {@link CheckpointOptions#imageDirectory()} for precedence). */
        public Builder imageDirectory(Path dir) {
            this.imageDirectory = Objects.requireNonNull(dir, "dir");
            return this;
        }

        /** Exit the original process (status 0) once the snapshot is written; default false. */
        public Builder exitAfterCheckpoint(boolean value) {
            this.exitAfterCheckpoint = value;
            return this;
        }

        /** Keep established TCP connections in the snapshot; default false (close them in a Resource). */
        public Builder tcpEstablished(boolean value) {
            this.tcpEstablished = value;
            return this;
        }

        /** Allow unix sockets to outside processes; default false. */
        public Builder externalUnixSockets(boolean value) {
            this.externalUnixSockets = value;
            return this;
        }

        /** Keep file locks in the snapshot; default false. */
        public Builder fileLocks(boolean value) {
            this.fileLocks = value;
            return this;
        }

        /** The largest deleted-but-open file to copy into the snapshot; default 1 MiB. */
        public Builder ghostLimitBytes(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("ghost limit must be >= 0: " + bytes);
            }
            this.ghostLimitBytes = bytes;
            return this;
        }

        /** CRIU's log level, 1 to 4; default 2 (warnings), or the system property {@code cryo.criu.logLevel}. */
        public Builder criuLogLevel(int level) {
            if (level < 1 || level > 4) {
                throw new IllegalArgumentException("CRIU log level must be 1..4: " + level);
            }
            this.criuLogLevel = level;
            return this;
        }

        /** How long to wait for GPU work to finish before locking; default 30 s. */
        public Builder gpuLockTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("GPU lock timeout must be positive: " + timeout);
            }
            this.gpuLockTimeout = timeout;
            return this;
        }

        /**
         * Run a full garbage collection before the dump so that the image holds live data only;
         * default true (or false with {@code -Dcryo.noGc=true}).
         */
        public Builder collectGarbage(boolean value) {
            this.collectGarbage = value;
            return this;
        }

        /**
         * Files to copy into the image and put back before each restore. CRIU saves no file
         * contents: a file the app had open that changed size after the checkpoint stops the
         * restore, and one that changed otherwise is read changed by the restored app. Regular
         * files only, by absolute path; the launcher ({@code bin/cryo}) puts back each one that
         * differs from the copy (size or modification time), atomically, with its mode and time.
         * The copies hold the files' contents as the image holds the process's memory: owner-only.
         *
         * @param paths the files
         * @return this builder
         */
        public Builder storeFiles(Path... paths) {
            for (Path p : paths) {
                storeFiles.add(Objects.requireNonNull(p, "path").toAbsolutePath().normalize());
            }
            return this;
        }

        /**
         * Keep the host copy of the GPU memory (what the CUDA checkpoint moves out of the GPU) in
         * files of its own in the image, written and read back in parallel into huge pages, instead
         * of among CRIU's pages, restored one small page at a time; default true (or false with
         * {@code -Dcryo.gpu.memoryFiles=false}). Restores of large GPU states are much faster.
         *
         * @param value whether to
         * @return this builder
         */
        public Builder gpuMemoryFiles(boolean value) {
            this.gpuMemoryFiles = value;
            return this;
        }

        /**
         * The longest CRIU may hold the process stopped for its dump (see
         * {@link CheckpointOptions#dumpTimeout()} for the default and the other ways to set it).
         *
         * @param timeout the limit, positive
         * @return this builder
         */
        public Builder dumpTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("dump timeout must be positive: " + timeout);
            }
            this.dumpTimeout = timeout;
            return this;
        }

        /** The options. */
        public CheckpointOptions build() {
            return new CheckpointOptions(this);
        }
    }
}
