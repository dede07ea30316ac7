package dev.cryo.internal.cuda;

/** The CUDA version a driver supports, as {@code cuDriverGetVersion} counts it ({@code major*1000 + minor*10}). */
final class DriverVersion {
    /** CUDA 12.8 (driver r570): the first with cuCheckpointProcess* and GPU remapping at restore. */
    static final int CHECKPOINT_API = 12080;
    /** How the symbols of the checkpoint API name the release that has them. */
    static final String CHECKPOINT_API_RELEASE = "driver r570 / CUDA 12.8";

    private DriverVersion() {}

    /** {@code 12080} as {@code 12.8}. */
    static String format(int version) {
        return version / 1000 + "." + version % 1000 / 10;
    }
}
