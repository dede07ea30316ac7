package dev.cryo.internal.os;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.FunctionDescriptor;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class NativeLibraryTest {
    private final NativeLibrary libc = NativeLibrary.libc();

    @Test
    @DisplayName("a symbol the library lacks fails when called, naming the symbol, the library and the release that has it")
    void missingSymbolFailsWhenCalled() {
        NativeLibrary.Function missing = libc.function("cryo_no_such_function", "glibc 9.99",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT)); // binding it does not fail
        assertFalse(missing.exists());
        MissingSymbolException e = assertThrows(MissingSymbolException.class,
                () -> missing.invokeInt(h -> (int) h.invokeExact(1)));
        assertEquals("cryo_no_such_function", e.symbol());
        assertEquals("the C library", e.library());
        assertEquals("glibc 9.99", e.since());
        assertTrue(e.getMessage().startsWith("cryo_no_such_function needs glibc 9.99 or newer: the C library here"
                + " does not have it."), e.getMessage());
    }

    @Test
    @DisplayName("a symbol the library has is bound on first call and called")
    void presentSymbolIsCalled() {
        NativeLibrary.Function abs = libc.function("abs", "C89", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        assertTrue(abs.exists());
        assertEquals(42, abs.invokeInt(h -> (int) h.invokeExact(-42)));
    }

    @Test
    @DisplayName("a library that is not there is an IllegalArgumentException at load, for the binding to word")
    void missingLibrary() {
        assertThrows(IllegalArgumentException.class, () -> NativeLibrary.load("libcryo-no-such-library.so.1", "-"));
    }
}
