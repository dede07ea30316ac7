package dev.cryo;

import dev.cryo.internal.criu.CriuException;
import dev.cryo.internal.criu.CriuLocation;
import dev.cryo.internal.criu.CriuUnavailableException;
import dev.cryo.internal.criu.LibCriu;

/** Finds libcriu and the criu binary once per process and checks that CRIU is new enough. */
final class CriuAccess {
    /** CRIU 4.0: older releases fail on current kernels (vDSO layout) and lack what Cryo uses. */
    static final int MINIMUM_VERSION = 40000;

    private static LibCriu checked;
    private static int version;

    private CriuAccess() {}

    static synchronized LibCriu libCriu() throws CheckpointException {
        if (checked != null) {
            return checked;
        }
        LibCriu lib;
        try {
            lib = LibCriu.load(CriuLocation.resolve(null, null));
            version = lib.binaryVersion();
        } catch (CriuUnavailableException e) {
            throw new CheckpointException(CheckpointException.Reason.CRIU_UNAVAILABLE, e.getMessage(), e);
        } catch (CriuException e) {
            throw new CheckpointException(CheckpointException.Reason.CRIU_UNAVAILABLE,
                    "Cannot start CRIU: " + e.getMessage() + ". Check that it runs: " + locationHint(), e);
        }
        if (version < MINIMUM_VERSION) {
            throw new CheckpointException(CheckpointException.Reason.CRIU_UNAVAILABLE, "CRIU "
                    + LibCriu.formatVersion(version) + " at " + lib.location().binary() + " is too old: Cryo needs"
                    + " CRIU 4.0 or newer (older releases fail on current kernels). Run bin/bootstrap, which installs"
                    + " CRIU 4.1 into ~/.cryo/criu, or point CRYO_CRIU and CRYO_CRIU_LIB at a newer one.", null);
        }
        checked = lib;
        return lib;
    }

    static synchronized int version() {
        return version;
    }

    private static String locationHint() {
        return "run `$CRYO_CRIU check` (bin/bootstrap prints where CRIU is)";
    }
}
