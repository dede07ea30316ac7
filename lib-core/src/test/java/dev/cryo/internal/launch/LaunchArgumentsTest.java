package dev.cryo.internal.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LaunchArgumentsTest {
    @TempDir
    Path dir;

    private LaunchArguments parse(Verb verb, String... args) throws LaunchArguments.UsageException {
        return LaunchArguments.parse(verb, args);
    }

    private String problem(Verb verb, String... args) {
        return assertThrows(LaunchArguments.UsageException.class, () -> parse(verb, args)).getMessage();
    }

    @Test
    @DisplayName("run: every flag and the command after --")
    void runWithEveryFlag() throws Exception {
        LaunchArguments a = parse(new RunVerb(), "--image", "imgs", "--pid-wait", "0.3", "--gpu-map", "0=1,GPU-a=GPU-b",
                "--restore-timeout", "7.5", "--quiet", "--cold", "--", "java", "--cold", "-cp", "x", "Main");
        assertEquals(Duration.ofMillis(7500), a.restoreTimeout());
        assertEquals(Path.of("imgs").toAbsolutePath(), a.image());
        assertEquals(Duration.ofMillis(300), a.pidWait());
        assertEquals("0=1,GPU-a=GPU-b", a.gpuMap());
        assertTrue(a.quiet());
        assertTrue(a.cold());
        assertEquals(List.of("java", "--cold", "-cp", "x", "Main"), a.command(), "flags after -- are the app's");
    }

    @Test
    @DisplayName("defaults: 5 s of PID wait, no GPU map, not quiet, not cold; list needs no command")
    void defaults() throws Exception {
        LaunchArguments a = parse(new RunVerb(), "--image", dir.toString(), "--", "java");
        assertEquals(Duration.ofSeconds(5), a.pidWait());
        assertEquals(null, a.gpuMap());
        assertEquals(null, a.restoreTimeout(), "then the image's own dump time sets it");
        assertFalse(a.quiet() || a.cold());
        assertEquals(List.of(), parse(new ListVerb(), "--image", dir.toString()).command());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "--pid-wait abc --image D -- java|--pid-wait needs seconds (a number from 0 to 86400, such as 5 or 0.5), not 'abc'",
        "--pid-wait -1 --image D -- java|--pid-wait needs seconds",
        "--pid-wait NaN --image D -- java|--pid-wait needs seconds",
        "--restore-timeout 0 --image D -- java|--restore-timeout needs seconds above 0 (such as 120), not '0'",
        "--image D --gpu-map 0 -- java|--gpu-map needs OLD=NEW pairs",
        "--image D --gpu-map 0=1, -- java|--gpu-map needs OLD=NEW pairs",
        "--image D --verbose -- java|unknown flag '--verbose' for cryo run",
        "--image D java -cp x Main|unexpected 'java': the app's command goes after --",
        "--image D|missing -- before the app's command: run --image DIR",
        "--image D --|no command after --",
        "--image|--image needs a value: --image DIR",
        "--image --cold -- java|--image needs a value",
        "--pid-wait|--pid-wait needs a value: --pid-wait SECONDS",
        "-- java|cryo run needs --image DIR",
    })
    void runRefuses(String args, String message) {
        String[] split = args.replace("D", dir.toString()).split(" ");
        String got = problem(new RunVerb(), split);
        assertTrue(got.startsWith(message), got);
        assertFalse(got.contains("\n"), "one line: " + got);
    }

    @Test
    @DisplayName("--image naming a regular file is refused up front")
    void imageIsAFile() throws Exception {
        Path file = Files.writeString(dir.resolve("images"), "not a directory");
        assertEquals("--image " + file + " is a file, not a directory: give the directory that holds (or will hold)"
                + " the images", problem(new RunVerb(), "--image", file.toString(), "--", "java"));
        assertEquals(dir.resolve("missing"), parse(new RunVerb(), "--image", dir.resolve("missing").toString(),
                "--", "java").image(), "a directory that does not exist yet is fine");
    }

    @Test
    @DisplayName("list takes only --image")
    void listTakesOnlyImage() {
        assertEquals("cryo list does not take --cold", problem(new ListVerb(), "--image", "x", "--cold"));
    }

    @Test
    @DisplayName("the launcher: bad input is one line and status 2, --help lists every flag and exits 0")
    void launcherStatusAndHelp() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Launcher launcher = new Launcher(new PrintStream(out, true), new PrintStream(err, true));
        assertEquals(2, launcher.run(new String[] {"run", "--image", dir.toString(), "--pid-wait", "abc", "--", "java"}));
        String e = err.toString(StandardCharsets.UTF_8);
        assertEquals(1, e.lines().count(), e);
        assertTrue(e.startsWith("cryo: --pid-wait needs seconds"), e);
        err.reset();
        assertEquals(2, launcher.run(new String[] {"frobnicate"}));
        assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("cryo: unknown command 'frobnicate'; the commands are"
                + " run, list, inspect, rm, prune, checkpoint"));

        assertEquals(0, launcher.run(new String[] {"--help"}));
        String help = out.toString(StandardCharsets.UTF_8);
        for (LaunchArguments.Flag f : LaunchArguments.Flag.values()) {
            assertTrue(help.contains(f.synopsis()), f + " in:\n" + help);
        }
        out.reset();
        assertEquals(0, launcher.run(new String[] {"run", "--help"}));
        assertEquals(help, out.toString(StandardCharsets.UTF_8));
    }

    @Test
    @DisplayName("checkpoint: a PID as its operand, no --image; other verbs take no operands")
    void checkpointOperands() throws Exception {
        LaunchArguments a = parse(new CheckpointVerb(), "--quiet", "4242");
        assertEquals(List.of("4242"), a.operands());
        assertTrue(a.quiet());
        assertEquals("cryo checkpoint does not take --image", problem(new CheckpointVerb(), "--image", "x", "1"));
        assertTrue(problem(new ListVerb(), "--image", "x", "4242").startsWith("unexpected '4242'"));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Launcher launcher = new Launcher(new PrintStream(new ByteArrayOutputStream(), true), new PrintStream(err, true));
        assertEquals(2, launcher.run(new String[] {"checkpoint", "1", "2"}));
        assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("cryo: checkpoint needs the process id of one"
                + " running JVM"), err::toString);
    }
}
