/**
 * Cryo: checkpoint a running JVM, GPU state included, and restore it later.
 *
 * <h2>The call</h2>
 * An app calls {@link dev.cryo.Checkpointer#checkpointNow()} once its start-up is done. It returns
 * {@code SKIPPED}, touching nothing, when the image store already holds a whole image of this build
 * (the same command line, working directory, JDK and class path files), or when another live
 * process is checkpointing the same build into the same store right now (a claim file holding its
 * pid; a claim whose holder died is taken over). Otherwise the call
 * <ol>
 *   <li>checks, before touching anything, that the snapshot can be taken: privileges (root, or
 *       {@code CAP_CHECKPOINT_RESTORE} with {@code CAP_SYS_PTRACE}), CRIU 4.0+ and libcriu found,
 *       the image directory writable, and free space for the process's resident memory;</li>
 *   <li>calls {@link dev.cryo.Resource#beforeCheckpoint()} on every registered resource, the
 *       <em>last registered first</em>;</li>
 *   <li>suspends the process's CUDA state if it has any (lock, then copy device memory to the
 *       host; that copy goes into files of its own in the image, see
 *       {@link dev.cryo.CheckpointOptions.Builder#gpuMemoryFiles(boolean)});</li>
 *   <li>dumps the whole process with CRIU into a new image and keeps it running;</li>
 *   <li>in whichever process goes on, the original or a copy restored from the image: resumes the
 *       CUDA state; in a restored copy, reads the GPU list again and runs every
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
 * <h2>Images</h2>
 * An image is a directory written as {@code .tmp-<id>-<pid>} and renamed to {@code img-<id>} only
 * after CRIU succeeded and its metadata file is written; it is never restored half-written, and
 * leftovers of a crashed checkpoint are removed by the next start. Image directories are
 * {@code 0700} and their files {@code 0600}: an image holds every secret the process had. The
 * launcher ({@code bin/cryo run --image DIR -- COMMAND}) restores the newest image made from the
 * same command, or starts the command cold. It restores all memory first; with
 * {@code --restore-mode lazy} (where the kernel allows it) the app runs again at once and CRIU's
 * lazy-pages daemon, watched by the launcher, brings its memory in meanwhile (the daemon keeps the
 * page files open, so an image removed then is still read); should the daemon fail, the launcher
 * ends the app.
 *
 * <h2>Which image fits</h2>
 * An image restores only where both its keys match: the build (command line and JVM options,
 * working directory, JDK, and the contents of the class path and other files named on the command
 * line, by SHA-256) and the runtime (CPU model and feature flags, kernel, and where the checkpoint machine
 * had them the NVIDIA driver version and GPU models). Images of one app for different runtimes
 * live side by side; a start picks the newest that fits, or starts cold and says why not.
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
 * by the launcher before each restore. Before dumping, {@link dev.cryo.Preflight} reports open
 * files modified since the process started, and deleted or replaced ones.
 *
 * <h2>Uniqueness after restore</h2>
 * Every copy restored from one image starts with the same memory, random generators included.
 * Generators registered with {@link dev.cryo.Checkpointer#reseeded(java.util.Random)} are reseeded
 * in each restored copy, before the app's own {@code afterRestore} callbacks (on by default for
 * whatever is registered). Without registering: {@link java.util.UUID#randomUUID()} and a default
 * {@code new SecureRandom()} on Linux (NativePRNG) draw from the OS on every call and differ by
 * themselves; a {@code java.util.Random} or {@code SplittableRandom} created before the checkpoint,
 * {@link java.util.concurrent.ThreadLocalRandom} and {@link java.lang.Math#random()} repeat their
 * sequences in every copy and cannot be reseeded from outside: register such generators, or create
 * them (and ids, session keys, nonces) after the restore, in an {@code afterRestore}.
 *
 * <h2>Threads</h2>
 * {@code checkpointNow()} may be called from any thread, one call at a time: a second concurrent
 * call fails with {@link dev.cryo.CheckpointException.Reason#IN_PROGRESS}. Resources are held
 * strongly (unlike org.crac's global context), so a lambda stays registered.
 */
package dev.cryo;
