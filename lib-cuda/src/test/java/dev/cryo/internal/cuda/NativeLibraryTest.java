package dev.cryo.internal.cuda;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.FunctionDescriptor;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The lazy handles, against a library every machine has (libc): no GPU needed. */
class NativeLibraryTest {
    @Test
    @DisplayName("a symbol the library lacks fails when called: a CudaUnavailableException naming symbol, library and release")
    void missingSymbolFailsWhenCalled() {
        NativeLibrary libc = NativeLibrary.load("libc.so.6", "Update the NVIDIA driver.");
        NativeLibrary.Function missing = libc.function("cuCheckpointProcessLock", DriverVersion.CHECKPOINT_API_RELEASE,
                FunctionDescriptor.of(JAVA_INT, JAVA_INT)); // binding it does not fail
        assertFalse(missing.exists());
        MissingSymbolException e = assertThrows(MissingSymbolException.class,
                () -> missing.invokeInt(h -> (int) h.invokeExact(1)));
        assertInstanceOf(CudaUnavailableException.class, e, "callers that catch CudaUnavailableException see it");
        assertEquals("cuCheckpointProcessLock needs driver r570 / CUDA 12.8 or newer: libc.so.6 here does not have it."
                + " Update the NVIDIA driver.", e.getMessage());
        assertEquals("libc.so.6", e.library());
    }

    @Test
    @DisplayName("a symbol the library has is called through the one invoke wrapper")
    void presentSymbolIsCalled() {
        NativeLibrary libc = NativeLibrary.load("libc.so.6", "-");
        assertEquals(7, libc.function("abs", "C89", FunctionDescriptor.of(JAVA_INT, JAVA_INT))
                .invokeInt(h -> (int) h.invokeExact(-7)));
    }

    @Test
    @DisplayName("driver versions read as CUDA writes them")
    void driverVersion() {
        assertEquals("12.8", DriverVersion.format(DriverVersion.CHECKPOINT_API));
        assertEquals("13.0", DriverVersion.format(13000));
    }
}
