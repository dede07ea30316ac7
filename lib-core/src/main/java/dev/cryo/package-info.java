/**
 * Cryo: checkpoint a running JVM, GPU state included, and restore it later.
 *
 * <h2>The call</h2>
 * An app calls {@link dev.cryo.Checkpointer#checkpointNow()} once its start-up is done. It returns
 * {@code SKIPPED}, touching nothing, when no image directory is configured (no launcher, no
 * {@link dev.cryo.CheckpointOptions#imageDirectory() option}, no {@code -Dcryo.image.dir}, no
 * {@code CRYO_IMAGE_DIR}; the reason says how to set one, and {@code default} as the property's or
 * the variable's value opts in to {@code ~/.cryo/images/<main class or jar>}), when the image
 * store already holds an image the launcher would restore here (whole, of this build: the same
 * command line, working directory, JDK and class path files; in this environment; of this
 * runtime, GPUs, libraries and open files; see "Which image fits"), or when another live
 * process is checkpointing the same build into the same store right now (a claim file, 0600,
 * naming its process by boot id, PID namespace, start time and pid; a claim whose holder died is
 * taken over; one from another PID namespace holds for an hour). Otherwise the call
 * <ol>
 *   <li>checks, before touching anything, that the snapshot can be taken: privileges (root, or
 *       {@code CAP_CHECKPOINT_RESTORE} with {@code CAP_SYS_PTRACE}), CRIU 4.0+ and libcriu found,
 *       the image directory writable, and free space for the process's resident memory;</li>
 *   <li>calls {@link dev.cryo.Resource#beforeCheckpoint()} on every registered resource, the
 *       <em>last registered first</em>;</li>
 *   <li>copies the app's {@link dev.cryo.DeviceMemory} into files of the new image through
 *       pinned pipelines and releases it, its addresses kept (see "Device memory" below);</li>
 *   <li>suspends the process's CUDA state if it has any (lock, then copy device memory to the
 *       host; that copy goes into files of its own in the image, see
 *       {@link dev.cryo.CheckpointOptions.Builder#gpuMemoryFiles(boolean)});</li>
 *   <li>dumps the whole process with CRIU into a new image and keeps it running; the process's
 *       threads are stopped meanwhile, so a small watcher process outside it (a {@code /bin/sh}
 *       loop, gone when the call returns) ends CRIU when the dump holds the process longer than
 *       {@link dev.cryo.CheckpointOptions#dumpTimeout()}: the call then fails with
 *       {@link dev.cryo.CheckpointException.Reason#DUMP_TIMEOUT} and the app goes on;</li>
 *   <li>in whichever process goes on, the original or a copy restored from the image: resumes the
 *       CUDA state, then maps the {@code DeviceMemory} again at the same addresses and fills it
 *       from the image; in a restored copy, reads the GPU list again and runs every
 *       {@link dev.cryo.DeviceCache}; then calls {@link dev.cryo.Resource#afterRestore(CheckpointOutcome)} on every
 *       resource, <em>in registration order</em>, and returns a {@link dev.cryo.CheckpointOutcome}
 *       saying which process it is ({@code CHECKPOINTED} or {@code RESTORED}).</li>
 * </ol>
 * With {@link dev.cryo.CheckpointOptions.Builder#exitAfterCheckpoint(boolean)} the original exits
 * with status 0 once its image is complete, without calling {@code afterRestore}.
 *
 * <h2>Failures</h2>
 * Every resource is notified even when one fails. When any {@code beforeCheckpoint} throws, no
 * snapshot is taken: the resources whose {@code beforeCheckpoint} succeeded get
 * {@code afterRestore} with a {@code SKIPPED} outcome, and the caller gets one
 * {@link dev.cryo.CheckpointException} with each failure (those of the roll-back too) as a
 * {@linkplain java.lang.Throwable#getSuppressed() suppressed} exception. Any other failure (CRIU,
 * the GPU, the disk) also rolls back and throws {@code CheckpointException}; its
 * {@link dev.cryo.CheckpointException#reason() reason} says what failed and its message what to
 * do. The app goes on as before, with its GPU state intact. Failures of {@code afterRestore}
 * callbacks are collected the same way into one {@link dev.cryo.RestoreException}, thrown after
 * every resource was called. An {@link java.lang.InterruptedException} from a callback is kept
 * as suppressed and the thread's interrupt flag is set again.
 *
 * <h2>Device memory</h2>
 * {@link dev.cryo.DeviceMemory#allocate(int, long)} gives device memory (CUDA's virtual memory
 * API, the GPU's primary context) that Cryo moves itself: at a checkpoint, after the
 * {@code beforeCheckpoint} callbacks, it is copied through a ring of pinned host buffers on
 * several streams by parallel writers into {@code device-memory-<n>.bin} files of the image (the
 * chunks spread over the files, each chunk's CRC32C in the image's metadata) and its physical
 * memory released, the address range kept reserved; the driver's checkpoint then moves only the
 * app's other device memory. In the original after the dump, after any failure on the way, and in
 * a restored copy (each time once the CUDA state is back), it is mapped at <em>the same
 * address</em> and filled from the files, before any {@code afterRestore} runs: device pointers
 * the app and its kernels hold stay valid. The launcher checks that the files are there with their
 * sizes before restoring (else it says which and starts cold) and starts reading them ahead; a
 * chunk whose checksum differs, or a GPU out of memory, fails the restore with a
 * {@link dev.cryo.RestoreException} naming the file, offset or memory. Allocations, fills and frees
 * wait while a checkpoint moves the memory. System properties {@code cryo.deviceMemory.threads},
 * {@code .slots}, {@code .chunkMiB}, {@code .streams}, {@code .files}, {@code .verify} and
 * {@code .mapped} (fill from the files mapped and registered read-only) tune the pipelines. The
 * memory is mapped again on the GPU of the same ordinal: restoring it onto other GPUs
 * ({@code --gpu-map}) is not supported yet.
 *
 * <h2>Images</h2>
 * An image is a directory written as {@code .tmp-<id>-<pid>} and renamed to {@code img-<id>} only
 * after CRIU succeeded and its metadata file is written; it is never restored half-written, and
 * leftovers of a crashed checkpoint are removed by the next start (by the rule of claims above:
 * those of a writer in another PID namespace once they are an hour old). Image directories are
 * {@code 0700} and their files {@code 0600}: an image holds every secret the process had; a store
 * or image that is a symbolic link, another user's, or writable by group or others is refused
 * (by the launcher, which starts cold, and by {@code checkpointNow()}: {@code IMAGE_DIRECTORY}). The
 * launcher ({@code bin/cryo run --image DIR -- COMMAND}) restores the newest image made from the
 * same command, or starts the command cold. With {@code --restore-mode eager} it restores all memory
 * first; with {@code --restore-mode lazy} (where the kernel allows it) the app runs again at once and
 * CRIU's lazy-pages daemon, watched by the launcher, brings its memory in meanwhile; without either,
 * lazily where the first touches of the image's pages, timed on a sample, would take 200 ms or
 * more, else eagerly. The daemon keeps the page files open, so an image removed then is still read;
 * should the daemon fail, the launcher ends the app.
 *
 * <p>The last file written is the image's manifest, {@code cryo-manifest.properties}: each file's
 * size and a CRC32C of each 32 MiB piece (SHA-256 under an HMAC when {@code CRYO_IMAGE_KEY} is set;
 * then images without a valid HMAC are refused), and the metadata's SHA-256. An image without a
 * valid manifest is never restored; the launcher checks every piece, in parallel, before it
 * restores. An image that is refused that way, whose restore fails or runs past its limit
 * ({@code --restore-timeout}, by default 10 times the image's dump time and at least 30 s), or whose
 * restored app crashes is marked bad ({@code cryo-bad-image.txt}, with the reason): it never fits
 * again, so the cold app's {@code checkpointNow()} writes a new image; the launcher keeps the
 * newest 2 bad images for inspection and deletes older ones.
 *
 * <h2>Which image fits</h2>
 * An image restores only where both its keys match: the build (command line and JVM options,
 * working directory, JDK, and the contents of the class path and other files named on the command
 * line, by SHA-256; in class-path directories, image stores and log files are skipped, see the
 * README) and the runtime (CPU model and feature flags, kernel, and where the checkpoint machine
 * had them the NVIDIA driver version and GPU models). Images of one app for different runtimes
 * live side by side; a start picks the newest that fits, or starts cold and says why not.
 *
 * <p>A restored process keeps the environment it had at checkpoint, so the image must also have
 * the start's environment variables (compared by a digest of each value; the reason names those
 * that changed, were added or removed). Left out: those that differ per start ({@code PWD},
 * {@code SHLVL}, {@code TERM}, {@code SSH_*}, {@code HOSTNAME}, ...), Cryo's own {@code CRYO_*}, the
 * options the launcher appends to {@code JDK_JAVA_OPTIONS}, and the names listed in
 * {@code CRYO_ENV_IGNORE} (comma-separated, {@code PREFIX*} allowed). An image that records no
 * environment (made by an older Cryo) does not fit. And the libraries it maps (the executable
 * mappings and shared objects: the java binary, libjvm.so, libc, libcuda, ...) must have the
 * contents they had, by SHA-256: one gone or changed, even with its size kept, is named and the
 * start is cold.
 *
 * <h2>Devices after restore</h2>
 * A restored copy may run on another machine, or on other GPUs. {@link dev.cryo.Checkpointer#gpus()}
 * is read again before any callback runs, and each {@link dev.cryo.DeviceCache} registered with
 * {@link dev.cryo.Checkpointer#registerDeviceCache} is called first, with the new list: the place
 * to refresh cached device counts, lists and placements.
 *
 * <h2>Files</h2>
 * CRIU saves no file contents: at restore it reopens each file the process had open by its path,
 * and refuses one whose size changed (except files opened write-only for appending). The image
 * records those files; the launcher checks them before restoring, names a file that is gone or
 * changed size and starts cold, and warns about one that changed with the same size. Files listed
 * with {@link dev.cryo.CheckpointOptions.Builder#storeFiles} are copied into the image and put back
 * by the launcher before each restore, only to the canonical path registered at checkpoint; a
 * restore that fails puts their old contents back. Before dumping, {@link dev.cryo.Preflight} reports open
 * files modified since the process started, and deleted or replaced ones.
 *
 * <h2>Uniqueness after restore</h2>
 * Every copy restored from one image starts with the same memory, random generators included.
 * In each restored copy, before the {@code afterRestore} callbacks, Cryo reseeds from the OS's
 * entropy the generators registered with {@link dev.cryo.Checkpointer#reseeded(java.util.Random)}
 * and the JDK's own: {@link java.util.concurrent.ThreadLocalRandom} (its seeder, and the seeds of
 * every live platform thread), the generators behind {@link java.lang.Math#random()} and
 * {@link java.lang.StrictMath#random()}, and the seed source of {@code new SplittableRandom()}.
 * The JDK's are private to {@code java.base}: Cryo reseeds them only where {@code java.lang},
 * {@code java.util} and {@code java.util.concurrent} are open to it
 * ({@code --add-opens java.base/java.lang=ALL-UNNAMED} and so on), which {@code bin/cryo run} does
 * for the app it starts cold, through {@code JDK_JAVA_OPTIONS}. In an app started otherwise they
 * repeat in every copy, and each restored copy logs one warning naming them and the options.
 * Without registering: {@link java.util.UUID#randomUUID()} and a default {@code new SecureRandom()}
 * on Linux (NativePRNG) draw from the OS on every call and differ by themselves; a
 * {@code java.util.Random} or {@code SplittableRandom} created before the checkpoint and not
 * registered, and the ThreadLocalRandom seeds of a virtual thread that lived across the checkpoint
 * (virtual threads cannot be listed), repeat their sequences in every copy: register such a
 * {@code Random}, or create them (and ids, session keys, nonces) after the restore, in an
 * {@code afterRestore}.
 *
 * <h2>Threads</h2>
 * {@code checkpointNow()} may be called from any thread, one call at a time: a second concurrent
 * call fails with {@link dev.cryo.CheckpointException.Reason#IN_PROGRESS}. Resources are held
 * strongly (unlike org.crac's global context), so a lambda stays registered.
 */
package dev.cryo;
