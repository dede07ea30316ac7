package dev.cryo.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BuildKeyTest {
    @TempDir
    Path dir;

    @Test
    @DisplayName("the key follows the arguments, the cwd and the contents of class path files, not their times")
    void keyFollowsTheBuild() throws Exception {
        Path jar = Files.writeString(dir.resolve("app.jar"), "v1");
        Path libs = Files.createDirectories(dir.resolve("lib"));
        Files.writeString(libs.resolve("dep.jar"), "d1");
        List<String> cmd = List.of("java", "-cp", jar + ":" + libs + "/*", "Main", "--port", "1");
        String key = BuildKey.of(cmd, dir);
        assertEquals(key, BuildKey.of(cmd, dir), "stable");
        assertNotEquals(key, BuildKey.of(List.of("java", "-cp", jar + ":" + libs + "/*", "Main", "--port", "2"), dir));
        assertNotEquals(key, BuildKey.of(cmd, dir.resolve("lib")), "working directory");

        Files.writeString(libs.resolve("dep.jar"), "d2-longer");
        String afterDep = BuildKey.of(cmd, dir);
        assertNotEquals(key, afterDep, "a jar of the wildcard changed");

        Files.setLastModifiedTime(jar, FileTime.fromMillis(Files.getLastModifiedTime(jar).toMillis() + 5000));
        assertEquals(afterDep, BuildKey.of(cmd, dir), "rebuilt with the same bytes: the same build");

        FileTime time = Files.getLastModifiedTime(jar);
        Files.writeString(jar, "v2"); // other bytes, same size, and the old time put back
        Files.setLastModifiedTime(jar, time);
        assertNotEquals(afterDep, BuildKey.of(cmd, dir), "other contents: another build");
    }
}
