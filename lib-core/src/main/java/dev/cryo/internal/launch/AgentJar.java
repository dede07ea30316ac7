package dev.cryo.internal.launch;

import dev.cryo.internal.agent.CheckpointAgent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/**
 * The agent jar {@code cryo checkpoint} loads into a JVM: a manifest only, naming
 * {@link CheckpointAgent} and, as its class path, the jars (or class directories) this launcher
 * runs Cryo from. Kept in {@code $CRYO_HOME/agent}, one per set of those paths, so that the
 * target's class path keeps naming a file that exists.
 */
public final class AgentJar {
    private AgentJar() {}

    static Path forThisLauncher() throws IOException {
        return writeInto(cryoHome().resolve("agent"));
    }

    /**
     * Writes the agent jar for this JVM's Cryo into {@code dir}, unless it is there already.
     *
     * @param dir where it goes
     * @return the jar
     * @throws IOException when it cannot be written
     */
    public static Path writeInto(Path dir) throws IOException {
        Set<String> classPath = new LinkedHashSet<>();
        for (String type : new String[] {"dev.cryo.Checkpointer", "dev.cryo.internal.criu.LibCriu",
                "dev.cryo.internal.cuda.GpuCheckpoint", "org.slf4j.LoggerFactory"}) {
            classPath.add(location(type));
        }
        Manifest m = manifest(String.join(" ", classPath));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JarOutputStream jar = new JarOutputStream(bytes, m)) {
            jar.flush();
        }
        Files.createDirectories(dir);
        // Named after what it says (the jar's bytes carry a time stamp).
        Path file = dir.resolve("cryo-agent-" + sha256(String.join(" ", classPath)
                .getBytes(java.nio.charset.StandardCharsets.UTF_8)).substring(0, 16) + ".jar");
        if (!Files.isRegularFile(file)) {
            Path tmp = Files.createTempFile(dir, ".cryo-agent-", ".jar");
            Files.write(tmp, bytes.toByteArray());
            // Its name says its contents: an old time keeps Cryo's pre-flight from reporting it as
            // changed after the start of a JVM that loads it later.
            Files.setLastModifiedTime(tmp, java.nio.file.attribute.FileTime.from(java.time.Instant.parse("2000-01-01T00:00:00Z")));
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        return file;
    }

    static Manifest manifest(String classPath) {
        Manifest m = new Manifest();
        Attributes a = m.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Agent-Class", CheckpointAgent.class.getName());
        a.putValue("Premain-Class", CheckpointAgent.class.getName());
        a.put(Attributes.Name.CLASS_PATH, classPath);
        return m;
    }

    /** Where {@code type} is loaded from, as an absolute URL path (a directory ends with /). */
    private static String location(String type) throws IOException {
        try {
            Path p = Path.of(Class.forName(type).getProtectionDomain().getCodeSource().getLocation().toURI());
            return p.toUri().getRawPath();
        } catch (ClassNotFoundException | URISyntaxException | RuntimeException e) {
            throw new IOException("cannot find where this launcher loads " + type + " from: " + e, e);
        }
    }

    private static Path cryoHome() {
        String home = System.getenv("CRYO_HOME");
        return home != null && !home.isBlank() ? Path.of(home) : Path.of(System.getProperty("user.home"), ".cryo");
    }

    private static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
