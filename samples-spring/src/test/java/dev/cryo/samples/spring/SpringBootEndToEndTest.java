package dev.cryo.samples.spring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.ServerSocket;
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
 * The Spring Boot sample, checkpointed through Spring's own CRaC support and through
 * {@code checkpointNow()} after a warm-up, restored by the launcher, answering HTTP after the restore
 * with the state of the original (its pid and the token it drew at start-up).
 */
@DisplayName("Spring Boot under Cryo")
class SpringBootEndToEndTest {
    private static final Path JAVA = Path.of(System.getProperty("java.home"), "bin", "java");
    private static final String CLASS_PATH = System.getProperty("java.class.path");

    @TempDir
    Path dir;

    private List<String> app(int port, String... more) {
        List<String> cmd = new ArrayList<>(List.of(JAVA.toString(), "--enable-native-access=ALL-UNNAMED"));
        cmd.addAll(List.of(more).stream().filter(a -> !a.startsWith("--")).toList()); // JVM options
        cmd.addAll(List.of("-cp", CLASS_PATH, GreetingApp.class.getName(), "--server.port=" + port,
                "--spring.main.banner-mode=off", "--server.address=127.0.0.1"));
        cmd.addAll(List.of(more).stream().filter(a -> a.startsWith("--")).toList()); // the app's
        return cmd;
    }

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

    private static long pid(String ready) {
        return Long.parseLong(ready.replaceAll(".*pid=(\\d+).*", "$1"));
    }

    private static String token(String ready) {
        return ready.replaceAll(".*token=(\\S+).*", "$1");
    }

    private String awaitLine(Process p, String name, String prefix) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (true) {
            var line = Files.readString(dir.resolve(name + ".out")).lines().filter(l -> l.startsWith(prefix)).findFirst();
            if (line.isPresent()) {
                return line.get();
            }
            if (!p.isAlive() || System.nanoTime() > deadline) {
                fail("no line '" + prefix + "' from " + name + (p.isAlive() ? "" : " (exit " + p.exitValue() + ")")
                        + ":\n" + output(name));
            }
            Thread.sleep(50);
        }
    }

    /** Ends the launcher (SIGTERM, passed on to the app) and waits until the app's pid is free. */
    private static void stop(Process launcher, long appPid) throws Exception {
        launcher.destroy();
        if (!launcher.waitFor(30, TimeUnit.SECONDS)) {
            launcher.descendants().forEach(ProcessHandle::destroyForcibly);
            launcher.destroyForcibly();
        }
        ProcessHandle.of(appPid).ifPresent(ProcessHandle::destroyForcibly);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (ProcessHandle.of(appPid).isPresent()) {
            assertTrue(System.nanoTime() < deadline, "app " + appPid + " is still alive");
            Thread.sleep(20);
        }
    }

    private static void kill(Process p) {
        if (p != null) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    /** A figure for the report (the surefire output), from {@code since} to now; polled every 50 ms. */
    private static void figure(String what, long since) {
        System.out.printf("FIGURE %s: %d ms%n", what, (System.nanoTime() - since) / 1_000_000);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private long images() throws IOException {
        try (var s = Files.list(dir.resolve("store"))) {
            return s.filter(p -> p.getFileName().toString().startsWith("img-")).count();
        }
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    @DisplayName("-Dspring.context.checkpoint=onRefresh: Spring's org.crac call, served by Cryo; the restored app answers")
    void springCheckpointOnRefresh() throws Exception {
        int port = freePort();
        List<String> app = app(port, "-Dspring.context.checkpoint=onRefresh");
        Process original = null;
        Process restored = null;
        try {
            long cold = System.nanoTime();
            original = launch(app, "original");
            String ready = awaitLine(original, "original", "READY ");
            figure("onRefresh: cold start to READY (checkpoint included)", cold);
            assertTrue(output("original").contains("Checkpoint image"), output("original"));
            assertEquals(1, images(), "one image");
            long pid = pid(ready);
            String token = token(ready);
            assertEquals("hello a from pid=" + pid + " token=" + token + " warmups=0 restored=false",
                    GreetingApp.get(port, "/hello?name=a"));
            stop(original, pid);

            long restore = System.nanoTime();
            restored = launch(app, "restored");
            assertEquals(ready, awaitLine(restored, "restored", "READY "), "the restored copy's web server starts");
            assertTrue(output("restored").contains("cryo: restored image"), output("restored"));
            String answer = GreetingApp.get(port, "/hello?name=b");
            assertEquals("hello b from pid=" + pid + " token=" + token + " warmups=0 restored=true", answer,
                    () -> output("restored"));
            figure("onRefresh: restore to first HTTP answer", restore);
        } finally {
            kill(original);
            kill(restored);
        }
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    @DisplayName("checkpointNow() after a warm-up: Spring stops and restarts its web server; the restored app answers")
    void checkpointNowAfterWarmUp() throws Exception {
        int port = freePort();
        List<String> app = app(port, "--sample.checkpoint=after-warmup", "--sample.warmup=200");
        Process original = null;
        Process restored = null;
        try {
            long cold = System.nanoTime();
            original = launch(app, "original");
            String ready = awaitLine(original, "original", "READY ");
            figure("checkpointNow: cold start to READY", cold);
            assertEquals("CHECKPOINT CHECKPOINTED warmups=200", awaitLine(original, "original", "CHECKPOINT "),
                    () -> output("original"));
            assertEquals(1, images(), "one image");
            long pid = pid(ready);
            String token = token(ready);
            String before = GreetingApp.get(port, "/hello?name=a");
            assertEquals("hello a from pid=" + pid + " token=" + token + " warmups=200 restored=false", before,
                    "the original answers again after its checkpoint");
            stop(original, pid);

            long restore = System.nanoTime();
            restored = launch(app, "restored");
            assertEquals("CHECKPOINT RESTORED warmups=200", awaitLine(restored, "restored", "CHECKPOINT "));
            String answer = GreetingApp.get(port, "/hello?name=b");
            assertEquals("hello b from pid=" + pid + " token=" + token + " warmups=200 restored=true", answer,
                    () -> output("restored"));
            figure("checkpointNow: restore to first HTTP answer", restore);
        } finally {
            kill(original);
            kill(restored);
        }
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    @DisplayName("Cryo's agent with port=N: checkpointed once Tomcat listens, no checkpoint call; the restored app answers")
    void agentOncePortListens() throws Exception {
        int port = freePort();
        java.nio.file.Path jar = dev.cryo.internal.launch.AgentJar.writeInto(dir.resolve("agent"));
        List<String> app = app(port, "-javaagent:" + jar + "=port=" + port);
        Process original = null;
        Process restored = null;
        try {
            original = launch(app, "original");
            String ready = awaitLine(original, "original", "READY ");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!output("original").contains("Cryo's agent: checkpoint CHECKPOINTED")) {
                assertTrue(original.isAlive() && System.nanoTime() < deadline, () -> output("original"));
                Thread.sleep(50);
            }
            assertEquals(1, images(), "one image");
            long pid = pid(ready);
            String token = token(ready);
            assertEquals("hello a from pid=" + pid + " token=" + token + " warmups=0 restored=false",
                    GreetingApp.get(port, "/hello?name=a"), "the original answers after its checkpoint");
            stop(original, pid);

            restored = launch(app, "restored");
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!output("restored").contains("Cryo's agent: this process was restored")) {
                assertTrue(restored.isAlive() && System.nanoTime() < deadline, () -> output("restored"));
                Thread.sleep(50);
            }
            assertEquals("hello b from pid=" + pid + " token=" + token + " warmups=0 restored=true",
                    GreetingApp.get(port, "/hello?name=b"), () -> output("restored"));
        } finally {
            kill(original);
            kill(restored);
        }
    }
}
