package dev.cryo.internal.checkpoint;

import dev.cryo.CheckpointException;
import dev.cryo.internal.LaunchHandoff;
import dev.cryo.internal.criu.CriuException;
import dev.cryo.internal.criu.CriuLocation;
import dev.cryo.internal.criu.CriuUnavailableException;
import dev.cryo.internal.criu.CriuVersion;
import dev.cryo.internal.criu.LibCriu;

/** Finds libcriu and the criu binary once per process and checks that CRIU is new enough. */
public final class CriuAccess {
    /** CRIU 4.0: older releases fail on current kernels (vDSO layout) and lack what Cryo uses. */
    static final int MINIMUM_VERSION = 40000;
    /** CRIU 4.2: older releases cannot dump any TCP socket on kernels 6.16+ ("Can't get 1:16 opt"). */
    public static final int TCP_SOCKETS_VERSION = 40200;

    private static LibCriu checked;
    private static int version;
    private static int probed; // versionIfKnown's answer before any checkpoint, 0 until known

    private CriuAccess() {}

    static synchronized LibCriu libCriu(ApiAccess api) throws CheckpointException {
        if (checked != null) {
            return checked;
        }
        LibCriu lib;
        try {
            lib = LibCriu.load(CriuLocation.resolve(null, null));
            version = checkedByLauncher(lib.location()).orElseGet(lib::binaryVersion);
        } catch (CriuUnavailableException e) {
            throw api.checkpointFailure(CheckpointException.Reason.CRIU_UNAVAILABLE, e.getMessage(), e);
        } catch (CriuException e) {
            throw api.checkpointFailure(CheckpointException.Reason.CRIU_UNAVAILABLE,
                    "Cannot start CRIU: " + e.getMessage() + ". Check that it runs: " + locationHint(), e);
        }
        if (version < MINIMUM_VERSION) {
            throw api.checkpointFailure(CheckpointException.Reason.CRIU_UNAVAILABLE, "CRIU "
                    + CriuVersion.format(version) + " at " + lib.location().binary() + " is too old: Cryo needs"
                    + " CRIU 4.0 or newer (older releases fail on current kernels). Run bin/bootstrap, which installs"
                    + " CRIU 4.2 into ~/.cryo/criu, or point CRYO_CRIU and CRYO_CRIU_LIB at a newer one.", null);
        }
        checked = lib;
        return lib;
    }

    /** bin/cryo checked the same CRIU before starting the app and says so in its handoff. */
    private static java.util.Optional<Integer> checkedByLauncher(CriuLocation location) {
        return LaunchHandoff.current().flatMap(LaunchHandoff::criu)
                .filter(c -> c.binary().equals(location.binary())).map(LaunchHandoff.CheckedCriu::version);
    }

    static synchronized int version() {
        return version;
    }

    /**
     * The version of the CRIU Cryo uses, without loading libcriu: the one checked for a checkpoint,
     * else the launcher's word, else {@code criu --version}; empty when CRIU cannot be found or run.
     * Never call it while this process is being dumped (it may start criu as a child).
     */
    public static synchronized java.util.OptionalInt versionIfKnown() {
        if (checked != null) {
            return java.util.OptionalInt.of(version);
        }
        if (probed == 0) {
            try {
                CriuLocation location = CriuLocation.resolve(null, null);
                probed = checkedByLauncher(location).orElseGet(() -> CriuVersion.of(location.binary()));
            } catch (RuntimeException e) {
                return java.util.OptionalInt.empty();
            }
        }
        return java.util.OptionalInt.of(probed);
    }

    private static String locationHint() {
        return "run `$CRYO_CRIU check` (bin/bootstrap prints where CRIU is)";
    }
}
