package dev.cryo.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class RemoteImagesTest {
    @Test
    @DisplayName("s3://B/P is remote as a string and as the Path made of it; local directories are not")
    void remoteLocations() {
        assertTrue(RemoteImages.isRemote("s3://fleet/apps/demo"));
        assertTrue(RemoteImages.isRemote(Path.of("s3://fleet/apps/demo").toString()));
        assertEquals("s3://fleet/apps/demo", RemoteImages.uri(Path.of("s3://fleet/apps/demo").toString()));
        assertFalse(RemoteImages.isRemote("/var/lib/app/images"));
        assertFalse(RemoteImages.isRemote("images"));
    }

    @Test
    @DisplayName("the cache of s3://B/P is $CRYO_HOME/cache/B/P")
    void cacheDirectory() {
        assertEquals(RemoteImages.cryoHome().resolve("cache/fleet/apps/demo").toAbsolutePath().normalize(),
                RemoteImages.cacheDirectory("s3://fleet/apps/demo/"));
    }

    @Test
    @DisplayName("without cryo-s3 on the class path, s3:// is one line saying what to add")
    void noProvider() {
        IOException e = assertThrows(IOException.class, () -> RemoteImages.open("s3://fleet/demo"));
        assertTrue(e.getMessage().contains("add cryo-s3"), e.getMessage());
    }
}
