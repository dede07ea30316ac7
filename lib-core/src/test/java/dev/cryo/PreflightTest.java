package dev.cryo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class PreflightTest {
    @Test
    @DisplayName("addresses from /proc/net/tcp{,6} read as people write them")
    void addresses() {
        assertEquals("127.0.0.1:8080", Preflight.address("0100007F:1F90"));
        assertEquals("127.0.0.1:8080", Preflight.address("0000000000000000FFFF00000100007F:1F90"));
        assertEquals("[0:0:0:0:0:0:0:1]:443", Preflight.address("00000000000000000000000001000000:01BB"));
    }
}
