package dev.cryo.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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

    @Test
    @DisplayName("in a class path directory, images and logs the app writes are not the build; classes and resources are")
    void classPathDirectoryWithImagesAndLogs() throws Exception {
        Path classes = Files.createDirectories(dir.resolve("classes/com/example")).getParent().getParent();
        Files.writeString(classes.resolve("com/example/Main.class"), "cafebabe-1");
        Files.writeString(classes.resolve("app.properties"), "a=1");
        Files.createDirectories(classes.resolve("META-INF/services"));
        Files.writeString(classes.resolve("META-INF/services/com.example.Plugin"), "com.example.Impl");
        List<String> cmd = List.of("java", "-cp", classes.toString(), "com.example.Main");
        BuildKey.Parts before = BuildKey.parts(cmd, dir);

        Path image = Files.createDirectories(classes.resolve("data/images/img-20261202T000000Z-0000"));
        Files.writeString(image.resolve(ImageMetadata.FILE_NAME), "format=1");
        Files.writeString(image.resolve("pages-1.img"), "pages");
        Files.writeString(classes.resolve("data/images/.checkpointing-abc"), "123");
        Files.createDirectories(classes.resolve("logs"));
        Files.writeString(classes.resolve("logs/app.log"), "started");
        Files.writeString(classes.resolve("logs/app.log.2026-12-01.gz"), "old");
        Files.writeString(classes.resolve("app.pid"), "123");
        assertEquals(before.key(), BuildKey.of(cmd, dir), "an image store and logs below the class path");

        Files.writeString(classes.resolve("com/example/Main.class"), "cafebabe-2");
        BuildKey.Parts after = BuildKey.parts(cmd, dir);
        assertNotEquals(before.key(), after.key(), "a changed class file");
        assertEquals(Optional.of("class path entry " + classes + " changed"), BuildKey.misfit(before, after));
        assertEquals(Optional.empty(), BuildKey.misfit(before, before));

        Files.writeString(classes.resolve("com/example/Main.class"), "cafebabe-1");
        Files.writeString(classes.resolve("META-INF/services/com.example.Plugin"), "com.example.Other");
        assertNotEquals(before.key(), BuildKey.of(cmd, dir), "a changed resource without an extension");
    }

    @Test
    @DisplayName("a class path directory that is itself the image store: its images are skipped, its classes kept")
    void classPathDirectoryIsTheStore() throws Exception {
        Path classes = Files.createDirectories(dir.resolve("classes"));
        Files.writeString(classes.resolve("Main.class"), "cafebabe-1");
        List<String> cmd = List.of("java", "-cp", classes.toString(), "Main");
        String before = BuildKey.of(cmd, dir);
        Path image = Files.createDirectories(classes.resolve("img-20261202T000000Z-0000"));
        Files.writeString(image.resolve(ImageMetadata.FILE_NAME), "format=1");
        Files.createDirectories(classes.resolve(".tmp-20261202T000001Z-0001-77"));
        Files.writeString(classes.resolve(".tmp-20261202T000001Z-0001-77/pages-1.img"), "pages");
        Files.writeString(classes.resolve(".checkpointing-abc"), "77");
        Files.writeString(classes.resolve(".restore-77.properties"), "gpu.map=0=1");
        assertEquals(before, BuildKey.of(cmd, dir));
        Files.writeString(classes.resolve("Main.class"), "cafebabe-2");
        assertNotEquals(before, BuildKey.of(cmd, dir), "its classes still count");
    }

    @Test
    @DisplayName("the misfit names the arguments, a new or a gone class path entry")
    void misfitNamesThePart() throws Exception {
        Path a = Files.writeString(dir.resolve("a.jar"), "a");
        Path b = Files.writeString(dir.resolve("b.jar"), "b");
        BuildKey.Parts then = BuildKey.parts(List.of("java", "-cp", a.toString(), "Main"), dir);
        String misfit = BuildKey.misfit(then, BuildKey.parts(List.of("java", "-cp", b.toString(), "Main"), dir))
                .orElseThrow();
        assertTrue(misfit.contains("other command line arguments"), misfit);
        assertTrue(misfit.contains("class path entry " + b + " is new"), misfit);
        assertTrue(misfit.contains("class path entry " + a + " is gone"), misfit);
        assertTrue(BuildKey.misfit(new BuildKey.Parts("old", Map.of()), then).orElseThrow()
                .contains("does not say which"), "an image from before the parts were recorded");
    }
}
