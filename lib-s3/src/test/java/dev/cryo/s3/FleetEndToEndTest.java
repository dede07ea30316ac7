package dev.cryo.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher with {@code --image s3://...} on a fleet of nodes (each its own $CRYO_HOME) and a real
 * S3 server: one node starts cold, checkpoints and publishes; another fetches, checks and restores.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class FleetEndToEndTest {
    static final String URI = "s3://" + S3Server.BUCKET + "/e2e";
    static final String JAVA = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    static final String CLASS_PATH = System.getProperty("java.class.path");

    @TempDir
    Path tmp;
    S3Server server;

    @BeforeEach
    void start() throws Exception {
        server = new S3Server(tmp.resolve("server"));
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    record Result(int exit, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    /** {@code cryo VERB --image s3://... -- FleetApp} as node {@code node}. */
    Result cryo(String node, String name, Map<String, String> env, String verb, String... flags) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(JAVA, "--enable-native-access=ALL-UNNAMED", "-cp", CLASS_PATH,
                "dev.cryo.internal.launch.Launcher", verb, "--image", URI));
        cmd.addAll(List.of(flags));
        cmd.addAll(List.of("--", JAVA, "-cp", CLASS_PATH, "dev.cryo.s3.app.FleetApp"));
        Path dir = tmp.resolve("out");
        Files.createDirectories(dir);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(dir.resolve(name + ".out").toFile()).redirectError(dir.resolve(name + ".err").toFile());
        // CRIU as the test runner has it (CRYO_CRIU, CRYO_CRIU_LIB); nothing a launcher handed it, no AWS settings.
        pb.environment().keySet().removeIf(k -> k.startsWith("AWS_") || List.of("CRYO_LAUNCHER", "CRYO_IMAGE_DIR",
                "CRYO_BUILD_KEY", "CRYO_HOME").contains(k));
        pb.environment().put("CRYO_HOME", tmp.resolve(node).toString());
        pb.environment().put("AWS_EC2_METADATA_DISABLED", "true");
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            fail(name + " did not finish");
        }
        return new Result(p.exitValue(), Files.readString(dir.resolve(name + ".out")), Files.readString(dir.resolve(name + ".err")));
    }

    static String line(Result r, String prefix) {
        return r.out().lines().filter(l -> l.startsWith(prefix)).findFirst().orElseGet(() -> fail("no " + prefix + " in\n" + r));
    }

    @Test
    @DisplayName("one node publishes, another fetches and restores it, a third's checkpoint is skipped; the cache is used again")
    void checkpointOnceRestoreAnywhere() throws Exception {
        Result a = cryo("a", "a-cold", server.env(), "run");
        assertEquals(0, a.exit(), a::toString);
        String outcome = line(a, "OUTCOME ");
        assertTrue(outcome.startsWith("OUTCOME CHECKPOINTED "), a::toString);
        String id = outcome.split(" ")[2];
        assertTrue(a.err().contains("published image " + id + " to " + URI), a::toString);

        Result b = cryo("b", "b-first", server.env(), "run");
        assertEquals(0, b.exit(), b::toString);
        assertTrue(b.err().contains("fetched image " + id + " from " + URI), b::toString);
        assertTrue(b.err().contains("SHA-256 checked"), b::toString);
        assertEquals("OUTCOME RESTORED " + id + " ", line(b, "OUTCOME "), b::toString);
        assertEquals(line(a, "SUM "), line(b, "SUM "), "the same state on the other node");

        Result again = cryo("b", "b-again", server.env(), "run");
        assertEquals("OUTCOME RESTORED " + id + " ", line(again, "OUTCOME "), again::toString);
        assertFalse(again.err().contains("fetched image"), "the cached image is used:\n" + again);

        Result c = cryo("c", "c-cold", server.env(), "run", "--cold");
        String skipped = line(c, "OUTCOME ");
        assertTrue(skipped.startsWith("OUTCOME SKIPPED - node ") && skipped.contains("publishes the image of this build"),
                c::toString);
        assertEquals(line(a, "SUM "), line(c, "SUM "));
    }

    @Test
    @DisplayName("fetch ahead: cryo fetch downloads the image, the next run restores it without downloading")
    void fetchAhead() throws Exception {
        Result a = cryo("a", "a-cold", server.env(), "run");
        String id = line(a, "OUTCOME CHECKPOINTED ").split(" ")[2];
        Result fetch = cryo("b", "b-fetch", server.env(), "fetch");
        assertEquals(0, fetch.exit(), fetch::toString);
        assertTrue(fetch.err().contains("fetched image " + id), fetch::toString);
        server.stop(); // what was fetched ahead needs no server
        Result b = cryo("b", "b-run", server.env(), "run");
        assertEquals("OUTCOME RESTORED " + id + " ", line(b, "OUTCOME "), b::toString);
        server.start();
    }

    @Test
    @DisplayName("no credentials: one line naming the variables, and the app still starts and checkpoints locally")
    void noCredentials() throws Exception {
        Map<String, String> env = new java.util.HashMap<>(server.env());
        env.remove(S3Settings.ACCESS_KEY);
        env.remove(S3Settings.SECRET_KEY);
        Result a = cryo("a", "a-nokeys", env, "run");
        assertEquals(0, a.exit(), a::toString);
        List<String> lines = a.err().lines().filter(l -> l.contains("cannot use " + URI)).toList();
        assertEquals(1, lines.size(), a::toString);
        assertTrue(lines.get(0).contains("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"), lines.get(0));
        assertTrue(line(a, "OUTCOME ").startsWith("OUTCOME CHECKPOINTED"), a::toString);
        assertTrue(Files.isDirectory(tmp.resolve("a/cache/fleet/e2e")), "the image is kept in the local cache");
    }
}
