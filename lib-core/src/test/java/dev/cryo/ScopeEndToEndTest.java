package dev.cryo;

import static dev.cryo.ChildJvm.app;
import static dev.cryo.ChildJvm.images;
import static dev.cryo.ChildJvm.launcher;
import static dev.cryo.ChildJvm.run;
import static dev.cryo.ChildJvm.temporaries;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.cryo.ChildJvm.Result;
import dev.cryo.internal.ImageStore;
import dev.cryo.internal.ProcessClaim;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an image's scope covers beyond its build (docs/faults.md, "Scope: environment, libraries,
 * claims"): the environment, against real CRIU and child JVMs; and claims made in another PID
 * namespace, by a real process there.
 */
@DisplayName("an image fits only its environment; claims hold across PID namespaces")
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ScopeEndToEndTest {
    @TempDir
    Path dir;

    private Path store() {
        return dir.resolve("store");
    }

    private Result start(String name, Map<String, String> env) throws Exception {
        return run(launcher(store(), List.of(), app("--entries", "1000")), dir, name, env);
    }

    private static void assertRestored(Result r) {
        assertTrue(r.has("OUTCOME RESTORED"), "restored:\n" + r);
    }

    @Test
    @DisplayName("a changed variable starts cold, naming it; the same environment, or the variable ignored, restores")
    void environment() throws Exception {
        Result cold = start("cold", Map.of("SCOPE_FOO", "1", "SCOPE_SECRET", "s3cret-value"));
        assertTrue(cold.has("OUTCOME CHECKPOINTED"), cold::toString);
        Path first = images(store()).get(0);
        String id = first.getFileName().toString().substring("img-".length());
        String metadata = Files.readString(first.resolve("cryo-image.properties"));
        assertTrue(metadata.contains("environment.var.SCOPE_SECRET="), "recorded by name");
        assertFalse(metadata.contains("s3cret-value"), "never by value");

        Result changed = start("changed", Map.of("SCOPE_FOO", "2", "SCOPE_SECRET", "s3cret-value", "SCOPE_NEW", "x"));
        assertTrue(changed.err().contains("image " + id + " does not fit: environment differs: SCOPE_FOO changed,"
                + " SCOPE_NEW added"), changed::toString);
        assertTrue(changed.has("OUTCOME CHECKPOINTED"), "the cold start writes an image of its own:\n" + changed);
        assertEquals(2, images(store()).size());

        Result same = start("same", Map.of("SCOPE_FOO", "1", "SCOPE_SECRET", "s3cret-value"));
        assertRestored(same);
        assertTrue(same.err().contains("restored image " + id), "the first image, made in this environment:\n" + same);

        Result ignored = start("ignored", Map.of("SCOPE_FOO", "3", "SCOPE_SECRET", "s3cret-value", "SCOPE_NEW", "x",
                "CRYO_ENV_IGNORE", "SCOPE_FOO, OTHER_*"));
        assertRestored(ignored);
    }

    @Test
    @DisplayName("variables a start script sets for the JVM (new each start) do not count: the launcher's are compared")
    void startScript() throws Exception {
        String java = String.join(" ", app("--entries", "1000").stream().map(a -> "'" + a + "'").toList());
        List<String> script = List.of("/bin/sh", "-c", "SCRIPT_STARTED=$$; export SCRIPT_STARTED; exec " + java);
        Result cold = run(launcher(store(), List.of(), script), dir, "scriptCold");
        assertTrue(cold.has("OUTCOME CHECKPOINTED"), cold::toString);
        Result again = run(launcher(store(), List.of(), script), dir, "scriptAgain");
        assertRestored(again);
    }

    private static boolean unshareWorks() {
        try {
            Process p = new ProcessBuilder("unshare", "--pid", "--fork", "--mount-proc", "true").start();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    private List<String> claimer(String key, String mode) {
        return ChildJvm.java("dev.cryo.testapp.ClaimHolder", store().toString(), key, mode);
    }

    private static void age(Path p) throws Exception {
        Files.setLastModifiedTime(p, FileTime.from(Instant.now().minus(ProcessClaim.FOREIGN_LIMIT).minusSeconds(60)));
    }

    @Test
    @DisplayName("a claim from another PID namespace is kept until the limit; a dead claimer's of ours is cleaned")
    void claimsAcrossNamespaces() throws Exception {
        assumeTrue(unshareWorks(), "unshare --pid --fork --mount-proc needs root (CAP_SYS_ADMIN)");
        ImageStore store = new ImageStore(store());
        // In a PID namespace of its own, where it is pid 1: it claims, starts an image, and leaves them behind.
        List<String> foreign = new ArrayList<>(List.of("unshare", "--pid", "--fork", "--mount-proc"));
        foreign.addAll(claimer("foreign", "leave"));
        Result there = run(foreign, dir, "foreign");
        assertEquals(0, there.exit(), there::toString);
        assertTrue(there.out().contains(" pid=1"), there::toString);
        Path foreignClaim = store().resolve(ImageStore.CLAIM_PREFIX + "foreign");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(foreignClaim)));
        assertEquals(1, temporaries(store()).size());
        Path foreignTmp = temporaries(store()).get(0);

        // In ours: holds them until killed (SIGKILL: nothing cleaned up on its way out).
        Process here = ChildJvm.start(claimer("here", "hold"), dir, "here", Map.of());
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.readString(dir.resolve("here.out")).contains("CLAIMED")) {
                assertTrue(here.isAlive() && System.nanoTime() < deadline, ChildJvm.read(dir, "here", -1)::toString);
                Thread.sleep(50);
            }
            assertEquals(0, store.removeStale(), "a live claimer's image and the foreign one are kept");
            assertTrue(store.claim("here").isEmpty(), "held by a live process");
        } finally {
            here.destroyForcibly().waitFor();
        }
        Path hereClaim = store().resolve(ImageStore.CLAIM_PREFIX + "here");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(hereClaim)));

        // The launcher's cleanup (prune runs the same one as run) removes only the dead claimer's leftovers.
        Result prune = run(ChildJvm.java("dev.cryo.internal.launch.Launcher", "prune", "--image", store().toString()),
                dir, "prune");
        assertEquals(0, prune.exit(), prune::toString);
        assertEquals(List.of(foreignTmp), temporaries(store()), prune::toString);
        assertTrue(store.claim("foreign").isEmpty(), "the foreign claim cannot be checked: it holds");
        assertTrue(ProcessClaim.holder(foreignClaim).contains("in another PID namespace"));
        Path taken = store.claim("here").orElseThrow(() -> new AssertionError("the dead claimer's claim is taken over"));
        ImageStore.release(taken);

        // Older than the limit, the foreign claim and image count as abandoned.
        age(foreignClaim);
        age(foreignTmp.resolve(ImageStore.OWNER));
        assertEquals(1, store.removeStale());
        assertTrue(temporaries(store()).isEmpty());
        assertTrue(store.claim("foreign").isPresent());
    }
}
