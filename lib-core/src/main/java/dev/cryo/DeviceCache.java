package dev.cryo;

import java.util.List;

/**
 * An app's cache of device facts (a GPU count, a device list, a model-to-device placement) that
 * must be refreshed when a snapshot is restored on other hardware. Registered with
 * {@link Checkpointer#registerDeviceCache}, it runs first after every restore: before every
 * {@link Resource}, and with the GPUs of the machine the process now runs on.
 */
@FunctionalInterface
public interface DeviceCache {
    /**
     * Refreshes the cache after a restore.
     *
     * @param gpus the GPUs present now, in the driver's order; empty on a machine without any
     * @throws Exception any failure; it is reported in the {@link RestoreException} of
     *         {@code checkpointNow()}, after the other callbacks ran
     */
    void refresh(List<Gpu> gpus) throws Exception;
}
