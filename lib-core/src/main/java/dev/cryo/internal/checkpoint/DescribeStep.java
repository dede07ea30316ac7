package dev.cryo.internal.checkpoint;

import dev.cryo.CheckpointOptions;
import dev.cryo.Checkpointer;
import dev.cryo.Preflight;
import dev.cryo.internal.EnvironmentDigest;
import dev.cryo.internal.ImageMetadata;
import dev.cryo.internal.MappedLibraries;
import dev.cryo.internal.OpenFiles;
import dev.cryo.internal.ProcessFacts;
import dev.cryo.internal.RuntimeKey;
import dev.cryo.internal.criu.CriuVersion;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.slf4j.Logger;
import dev.cryo.internal.Logs;

/**
 * What the image records about the process just before the dump: what was dumped, from what, on
 * what, and the files it holds open. Warns of what {@link Preflight} finds. Nothing to undo.
 */
record DescribeStep(Path tmp, CheckpointOptions options)
        implements Step<DescribeStep.Described> {
    private static final Logger LOG = Logs.get(Checkpointer.class);

    /**
     * What the image records of the process.
     *
     * @param created   when (ISO-8601)
     * @param process   the process
     * @param runtime   the runtime it runs on
     * @param criu      how CRIU dumps it
     * @param openFiles the files it holds open whose size CRIU checks
     * @param environment its environment, as the fit rule compares it
     * @param libraries the libraries it maps
     */
    record Described(String created, ImageMetadata.Process process, RuntimeKey runtime, ImageMetadata.Criu criu,
            List<OpenFiles.Recorded> openFiles, EnvironmentDigest environment,
            List<MappedLibraries.Recorded> libraries) implements Done {}

    @Override
    public String name() {
        return "describe";
    }

    @Override
    public Described run() {
        for (Preflight.Finding f : Preflight.check()) {
            LOG.warn("Before the checkpoint: {}", f);
        }
        ImageMetadata.Process process = new ImageMetadata.Process(ProcessHandle.current().pid(),
                ProcessFacts.commandLine(), Path.of("").toAbsolutePath().toString(),
                System.getProperty("sun.java.command", ""), System.getProperty("java.version"),
                System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"),
                System.getProperty("java.home"), System.getProperty("os.arch"), System.getProperty("os.version"),
                ProcessFacts.residentBytes(), ProcessFacts.stdioKeys());
        // The dump's own images-directory descriptor is in the image; restore maps its old path.
        ImageMetadata.Criu criu = new ImageMetadata.Criu(CriuVersion.format(CriuAccess.version()), tmp.toString(),
                options.tcpEstablished(), options.externalUnixSockets(), options.fileLocks());
        return new Described(Instant.now().toString(), process, RuntimeKey.current(), criu,
                OpenFiles.describe(OpenFiles.current()), EnvironmentDigest.current(), MappedLibraries.current());
    }
}
