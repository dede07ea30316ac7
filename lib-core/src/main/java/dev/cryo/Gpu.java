package dev.cryo;

/**
 * One NVIDIA GPU of the machine this process runs on, as the driver lists it. A restored process
 * may run on another machine, or on other GPUs of the same one: {@link Checkpointer#gpus()} is
 * read again after every restore.
 *
 * @param index the driver's ordinal (bus order), as {@code nvidia-smi} numbers it
 * @param model the model name, such as {@code NVIDIA H100 80GB HBM3}
 * @param uuid  the GPU's UUID, such as {@code GPU-341a9345-4265-f847-9deb-7ae559817e0a}
 */
public record Gpu(int index, String model, String uuid) {
    /** Checks the fields. */
    public Gpu {
        java.util.Objects.requireNonNull(model, "model");
        java.util.Objects.requireNonNull(uuid, "uuid");
    }
}
