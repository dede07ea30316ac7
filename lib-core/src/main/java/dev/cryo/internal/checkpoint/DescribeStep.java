package dev.cryo.internal.checkpoint;

import dev.cryo.CheckpointOptions;
import dev.cryo.Checkpointer;
import dev.cryo.Preflight;
import dev.cryo.internal.ImageMetadata;
import dev.cryo.internal.OpenFiles;
import dev.cryo.internal.ProcessFacts;
import dev.cryo.internal.RuntimeKey;
import dev.cryo.internal.criu.LibCriu;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the image records about the process just before the dump: what was dumped, from what, on
 * what, and the files it holds open. Warns of what {@link Preflight} finds. Nothing to undo.
 */
record DescribeStep(String id, Path tmp, String buildKey, CheckpointOptions options)
        implements Step<DescribeStep.Described> {
    private static final Logger LOG = LoggerFactory.getLogger(Checkpointer.class);

    /** @param metadata the image metadata describing the process */
    record Described(Map<String, String> metadata) implements Done {}

    @Override
    public String name() {
        return "describe";
    }

    @Override
    public Described run() {
        for (Preflight.Finding f : Preflight.check()) {
            LOG.warn("Before the checkpoint: {}", f);
        }
        Map<String, String> m = new LinkedHashMap<>();
        m.put("format", Integer.toString(ImageMetadata.FORMAT));
        m.put("id", id);
        m.put("created", Instant.now().toString());
        m.put("pid", Long.toString(ProcessHandle.current().pid()));
        List<String> cmd = ProcessFacts.commandLine();
        m.put("command", ImageMetadata.encodeList(cmd));
        m.put("cwd", Path.of("").toAbsolutePath().toString());
        m.put("main", System.getProperty("sun.java.command", ""));
        m.put("java.version", System.getProperty("java.version"));
        m.put("java.vm", System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"));
        m.put("java.home", System.getProperty("java.home"));
        m.put("os.arch", System.getProperty("os.arch"));
        m.put("os.kernel", System.getProperty("os.version"));
        m.put("build.key", buildKey);
        m.put("criu.version", LibCriu.formatVersion(CriuAccess.version()));
        // The dump's own images-directory descriptor is in the image; restore maps its old path.
        m.put("criu.dumpDirectory", tmp.toString());
        ProcessFacts.stdioKeys().forEach((fd, k) -> m.put("stdio." + fd, k));
        m.put("options.tcpEstablished", Boolean.toString(options.tcpEstablished()));
        m.put("options.externalUnixSockets", Boolean.toString(options.externalUnixSockets()));
        m.put("options.fileLocks", Boolean.toString(options.fileLocks()));
        m.put("resident.bytes", Long.toString(ProcessFacts.residentBytes()));
        m.putAll(RuntimeKey.current());
        m.putAll(OpenFiles.describe(OpenFiles.current()));
        return new Described(Collections.unmodifiableMap(m));
    }
}
