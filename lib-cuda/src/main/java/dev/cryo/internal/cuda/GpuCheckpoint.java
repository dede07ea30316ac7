package dev.cryo.internal.cuda;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The CUDA state of this process around a checkpoint: {@link #suspend} (lock, then copy device
 * memory to the host and release the GPUs) before CRIU dumps, {@link #resume} (back onto the GPUs,
 * then unlock) in whichever process goes on. A failed suspend leaves the process RUNNING with its
 * device memory where it was.
 */
public final class GpuCheckpoint {
    private final LibCuda cuda;
    private final int pid;
    private final List<GpuDevice> devices;
    private final int driverAtCheckpoint;
    /** GPU pairs at restore (migration onto other GPUs) arrived with r580 / CUDA 13.0. */
    static final int MINIMUM_DRIVER_FOR_REMAP = 13000;

    private GpuCheckpoint(LibCuda cuda, int pid, List<GpuDevice> devices) {
        this.cuda = cuda;
        this.pid = pid;
        this.devices = devices;
        this.driverAtCheckpoint = cuda.driverVersion();
    }

    /**
     * This process's CUDA state, or empty when it has none: libcuda is not loaded, or CUDA was
     * never initialized (the driver then answers CUDA_ERROR_NOT_INITIALIZED, seen on an H100 with
     * driver 580).
     */
    public static Optional<GpuCheckpoint> forCurrentProcess() {
        Optional<LibCuda> cuda = LibCuda.ifLoadedInProcess();
        if (cuda.isEmpty()) {
            return Optional.empty();
        }
        int pid = (int) ProcessHandle.current().pid();
        if (cuda.get().processState(pid).isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new GpuCheckpoint(cuda.get(), pid, cuda.get().devices()));
    }

    /** The GPUs this process sees (at checkpoint time: the ones its state belongs to). */
    public List<GpuDevice> devices() {
        return devices;
    }

    /** The driver's CUDA version, as {@code 13.0}. */
    public String driverVersion() {
        return DriverVersion.format(driverAtCheckpoint);
    }

    /** The current CUprocessState of this process. */
    public int state() {
        return cuda.processState(pid).orElse(LibCuda.RUNNING);
    }

    /** Timings of a suspend, in milliseconds. */
    public record Suspended(long lockMillis, long checkpointMillis) {}

    /** Timings of a resume, in milliseconds. */
    public record Resumed(long restoreMillis, long unlockMillis) {}

    /**
     * Locks (waiting up to {@code lockTimeout} for running work) and checkpoints. On any failure
     * the process is put back to RUNNING, with its GPU memory intact, before the exception leaves.
     */
    public Suspended suspend(Duration lockTimeout) {
        long t0 = System.nanoTime();
        cuda.lock(pid, (int) Math.min(Integer.MAX_VALUE, lockTimeout.toMillis()));
        long t1 = System.nanoTime();
        try {
            cuda.checkpoint(pid);
        } catch (RuntimeException e) {
            backToRunning(e);
            throw e;
        }
        return new Suspended((t1 - t0) / 1_000_000, (System.nanoTime() - t1) / 1_000_000);
    }

    /** Undoes a partial suspend: restore if checkpointed, then unlock; failures go on {@code cause}. */
    private void backToRunning(RuntimeException cause) {
        try {
            if (state() == LibCuda.CHECKPOINTED) {
                cuda.restore(pid, List.of());
            }
            if (state() == LibCuda.LOCKED) {
                cuda.unlock(pid);
            }
            cause.addSuppressed(new IllegalStateException("The GPU state was put back: the process is "
                    + (state() == LibCuda.RUNNING ? "RUNNING with its device memory intact" : "in state " + state())));
        } catch (RuntimeException e) {
            cause.addSuppressed(e);
        }
    }

    /** Puts the CUDA state back onto the GPUs ({@code remap}: where each checkpointed GPU goes) and unlocks. */
    public Resumed resume(List<GpuPair> remap) {
        // Read before the lock: a locked process's own driver calls would block.
        if (!remap.isEmpty() && driverAtCheckpoint < MINIMUM_DRIVER_FOR_REMAP) {
            throw new CudaUnavailableException("Moving GPU state onto other GPUs needs driver r580 (CUDA 13.0) or"
                    + " newer; this driver supports CUDA " + DriverVersion.format(driverAtCheckpoint) + ". Restore on the GPUs"
                    + " of the checkpoint, or update the driver.");
        }
        long t0 = System.nanoTime();
        if (state() == LibCuda.CHECKPOINTED) {
            cuda.restore(pid, remap);
        }
        long t1 = System.nanoTime();
        if (state() == LibCuda.LOCKED) {
            cuda.unlock(pid);
        }
        return new Resumed((t1 - t0) / 1_000_000, (System.nanoTime() - t1) / 1_000_000);
    }

    /**
     * Where each GPU of the checkpoint goes now: empty when the GPUs are the same ones; otherwise
     * GPU i to GPU i, when the model is the same and it has as much memory.
     *
     * @throws CudaUnavailableException when count, model or memory do not fit, saying what does not
     */
    public static List<GpuPair> planRemap(List<GpuDevice> atCheckpoint, List<GpuDevice> now) {
        if (atCheckpoint.isEmpty()) {
            return List.of();
        }
        if (now.size() < atCheckpoint.size()) {
            throw new CudaUnavailableException(String.format(Locale.ROOT, "The snapshot holds the state of %d GPU(s)"
                    + " (%s) but %s: restore it on a machine with the same GPUs.", atCheckpoint.size(),
                    names(atCheckpoint), now.isEmpty() ? "no CUDA GPU is visible now" : "only " + now.size()
                            + " are visible now (" + names(now) + ")"));
        }
        boolean same = true;
        for (int i = 0; i < atCheckpoint.size(); i++) {
            same &= java.util.Arrays.equals(atCheckpoint.get(i).uuid(), now.get(i).uuid());
        }
        if (same) {
            return List.of();
        }
        List<GpuPair> pairs = new ArrayList<>();
        for (int i = 0; i < atCheckpoint.size(); i++) {
            GpuDevice from = atCheckpoint.get(i);
            GpuDevice to = now.get(i);
            if (!sameModel(from.name(), to.name())) {
                throw new CudaUnavailableException("GPU " + i + " was a " + from.name() + " at checkpoint and is a "
                        + to.name() + " now: the driver restores GPU state only onto the same model.");
            }
            // -1: unknown (read from /proc, where the driver gives no size).
            if (to.totalMemory() >= 0 && to.totalMemory() < from.totalMemory()) {
                throw new CudaUnavailableException(String.format(Locale.ROOT, "GPU %d has %.1f GiB now and had %.1f GiB"
                        + " at checkpoint: restore onto a GPU with at least as much memory.", i,
                        to.totalMemory() / 1073741824.0, from.totalMemory() / 1073741824.0));
            }
            pairs.add(new GpuPair(from, to));
        }
        return pairs;
    }

    /**
     * The remap a user asked for: {@code map} sends checkpoint GPUs (index or UUID) to GPUs present
     * now (index or UUID). The result is a permutation, as the driver wants one pair per GPU: a GPU
     * whose place was taken goes where the moved one was; the others stay.
     */
    public static List<GpuPair> planRemap(List<GpuDevice> atCheckpoint, List<GpuDevice> now, Map<String, String> map) {
        if (map.isEmpty()) {
            return planRemap(atCheckpoint, now);
        }
        Map<Integer, Integer> target = new LinkedHashMap<>();
        map.forEach((from, to) -> target.put(indexOf(from, atCheckpoint, "at checkpoint"), indexOf(to, now, "now")));
        if (new java.util.HashSet<>(target.values()).size() < target.size()) {
            throw new CudaUnavailableException("The GPU map " + map + " sends two GPUs to the same one.");
        }
        // The GPUs not named keep their place when it is free, else take the free places in order,
        // so that the result is a permutation (0=1 on two GPUs swaps them; 0=1,1=2 on three rotates).
        java.util.TreeSet<Integer> free = new java.util.TreeSet<>();
        for (int j = 0; j < Math.max(now.size(), atCheckpoint.size()); j++) {
            free.add(j);
        }
        free.removeAll(target.values());
        for (int i = 0; i < atCheckpoint.size(); i++) {
            if (!target.containsKey(i)) {
                int j = free.contains(i) ? i : free.first();
                free.remove(j);
                target.put(i, j);
            }
        }
        List<GpuPair> pairs = new ArrayList<>();
        for (int i = 0; i < atCheckpoint.size(); i++) {
            int j = target.get(i);
            if (j >= now.size()) {
                throw new CudaUnavailableException("GPU " + i + " of the checkpoint would go to GPU " + j
                        + ", and only " + now.size() + " are visible now.");
            }
            GpuDevice from = atCheckpoint.get(i);
            GpuDevice to = now.get(j);
            if (!sameModel(from.name(), to.name())) {
                throw new CudaUnavailableException("The GPU map sends GPU " + i + " (" + from.name() + ") to GPU " + j
                        + " (" + to.name() + "): the driver restores GPU state only onto the same model.");
            }
            pairs.add(new GpuPair(from, to));
        }
        return pairs;
    }

    private static int indexOf(String key, List<GpuDevice> devices, String when) {
        for (GpuDevice d : devices) {
            if (d.uuidString().equalsIgnoreCase(key) || Integer.toString(d.ordinal()).equals(key)) {
                return d.ordinal();
            }
        }
        throw new CudaUnavailableException("The GPU map names '" + key + "', which is no GPU " + when + " (GPUs "
                + when + ": " + devices.stream().map(d -> d.ordinal() + "=" + d.uuidString()).toList() + ").");
    }

    private static boolean sameModel(String a, String b) {
        String x = a.replace("NVIDIA", "").trim();
        String y = b.replace("NVIDIA", "").trim();
        return x.equalsIgnoreCase(y);
    }

    private static String names(List<GpuDevice> devices) {
        return String.join(", ", devices.stream().map(GpuDevice::name).toList());
    }
}
