package dev.cryo.samples.micronaut;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Micronaut sample checkpointed through org.crac (served by Cryo), Micronaut's CRaC support
 * stopping and restarting its Netty server; restored by the launcher and answering HTTP with the
 * original's pid and start-up token.
 */
@DisplayName("Micronaut under Cryo")
class MicronautEndToEndTest {
    private static final Path JAVA = Path.of(System.getProperty("java.home"), "bin", "java");
    private static final String CLASS_PATH = System.getProperty("java.class.path");

    @TempDir
    Path dir;

    private Process launch(List<String> app, String name) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(JAVA.toString(), "--enable-native-access=ALL-UNNAMED", "-cp",
                CLASS_PATH, "dev.cryo.internal.launch.Launcher", "run", "--image", dir.resolve("store").toString(), "--"));
        cmd.addAll(app);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(dir.resolve(name + ".out").toFile())
                .redirectError(dir.resolve(name + ".err").toFile());
        pb.environment().keySet().removeAll(List.of("CRYO_LAUNCHER", "CRYO_IMAGE_DIR", "CRYO_BUILD_KEY"));
        return pb.start();
    }

    private String output(String name) {
        try {
            return Files.readString(dir.resolve(name + ".out")) + "\n--- stderr\n" + Files.readString(dir.resolve(name + ".err"));
        } catch (IOException e) {
            return e.toString();
        }
    }

    private String awaitLine(Process p, String name, String prefix) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (true) {
            var line = Files.readString(dir.resolve(name + ".out")).lines().filter(l -> l.startsWith(prefix)).findFirst();
            if (line.isPresent()) {
                return line.get();
            }
            if (!p.isAlive() || System.nanoTime() > deadline) {
                fail("no line '" + prefix + "' from " + name + ":\n" + output(name));
            }
            Thread.sleep(50);
        }
    }

    private static String get(int port, String path) throws Exception {
        HttpClient client = HttpClient.newHttpClient();
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r::body);
        return r.body();
    }

    /** The answer to {@code path}, once the server (started again after a checkpoint or restore) listens. */
    private String answer(int port, String path, String name) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                return get(port, path);
            } catch (IOException e) {
                assertTrue(System.nanoTime() < deadline, () -> e + "\n" + output(name));
                Thread.sleep(20);
            }
        }
    }

    private static void kill(Process p) {
        if (p != null) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    @DisplayName("org.crac.Core.checkpointRestore() once the server started: the restored app answers")
    void checkpointThroughOrgCrac() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<String> app = List.of(JAVA.toString(), "--enable-native-access=ALL-UNNAMED", "-Dmicronaut.server.port=" + port,
                "-Dmicronaut.server.host=127.0.0.1", "-cp", CLASS_PATH, HelloApp.class.getName());
        Process original = null;
        Process restored = null;
        try {
            original = launch(app, "original");
            String ready = awaitLine(original, "original", "READY ");
            assertEquals("CHECKPOINT DONE restored=false", awaitLine(original, "original", "CHECKPOINT "),
                    () -> output("original"));
            long pid = Long.parseLong(ready.replaceAll(".*pid=(\\d+).*", "$1"));
            String token = ready.replaceAll(".*token=(\\S+).*", "$1");
            // The server is started again after the checkpoint (Micronaut's CRaC support).
            String before = answer(port, "/hello?name=a", "original");
            assertEquals("hello a from pid=" + pid + " token=" + token + " restored=false", before);
            original.destroy(); // SIGTERM, passed on to the app
            assertTrue(original.waitFor(30, TimeUnit.SECONDS), () -> output("original"));
            long gone = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (ProcessHandle.of(pid).isPresent()) {
                assertTrue(System.nanoTime() < gone, "app " + pid + " is still alive");
                Thread.sleep(20);
            }

            long restore = System.nanoTime();
            restored = launch(app, "restored");
            assertEquals("CHECKPOINT DONE restored=true", awaitLine(restored, "restored", "CHECKPOINT "),
                    () -> output("restored"));
            String answer = answer(port, "/hello?name=b", "restored");
            assertEquals("hello b from pid=" + pid + " token=" + token + " restored=true", answer, () -> output("restored"));
            System.out.printf("FIGURE Micronaut: restore to first HTTP answer: %d ms%n", (System.nanoTime() - restore) / 1_000_000);
        } finally {
            kill(original);
            kill(restored);
        }
    }
}
