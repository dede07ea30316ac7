package dev.cryo.internal.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class LazyRestoreTest {
    @Test
    @DisplayName("the daemon gets the restore's own limit, at least 60 s, unless the property says otherwise")
    void limit() {
        assertEquals(Duration.ofSeconds(60), LazyRestore.limit(null, Duration.ofSeconds(30)));
        // a large image: 10 times its 27 s dump, as an eager restore of it would get
        assertEquals(Duration.ofSeconds(270), LazyRestore.limit(null, Duration.ofSeconds(270)));
        assertEquals(Duration.ofMillis(1), LazyRestore.limit("0.001", Duration.ofSeconds(270)));
        assertEquals(Duration.ofSeconds(600), LazyRestore.limit("600", Duration.ofSeconds(30)));
        assertEquals(Duration.ofSeconds(270), LazyRestore.limit("a minute", Duration.ofSeconds(270)));
    }
}
