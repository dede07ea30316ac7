package dev.cryo.internal.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * A native library of this module (libcuda) and the one place in it that loads libraries, looks
 * symbols up and reads C strings: the module's only {@code restricted} calls. Its {@link Function}s
 * make their downcall handle on first use, so that a symbol the driver lacks fails only when it is
 * called, with a {@link MissingSymbolException}. lib-criu has the same small class
 * ({@code dev.cryo.internal.os.NativeLibrary}): the two binding modules do not depend on each other,
 * and a third module for some eighty lines would weigh more than the copy.
 */
final class NativeLibrary {
    private static final Linker LINKER = Linker.nativeLinker();

    private final String name;
    private final String remedy;
    private final SymbolLookup lookup;

    private NativeLibrary(String name, String remedy, SymbolLookup lookup) {
        this.name = name;
        this.remedy = remedy;
        this.lookup = lookup;
    }

    /**
     * Loads the library the dynamic loader finds under {@code soname} for the life of the process;
     * {@code remedy} is what to do when one of its functions is missing.
     *
     * @throws IllegalArgumentException when it cannot be loaded
     * @throws IllegalCallerException when native access is not enabled for this module
     */
    @SuppressWarnings("restricted")
    static NativeLibrary load(String soname, String remedy) {
        return new NativeLibrary(soname, remedy, SymbolLookup.libraryLookup(soname, Arena.global()));
    }

    /**
     * The function {@code symbol}, bound on first use. {@code since} names the release that has it,
     * for the error when this one does not ("driver r570 / CUDA 12.8").
     */
    Function function(String symbol, String since, FunctionDescriptor descriptor, Linker.Option... options) {
        return new Function(symbol, since, descriptor, options);
    }

    /** Reads a NUL-terminated string the library owns (static storage). */
    @SuppressWarnings("restricted")
    static String cString(MemorySegment pointer) {
        return pointer.reinterpret(Long.MAX_VALUE).getString(0);
    }

    /** A call of a downcall handle with its exact argument and return types ({@code invokeExact}). */
    @FunctionalInterface
    interface IntCall {
        int on(MethodHandle handle) throws Throwable;
    }

    /** One C function of this library, bound on first use. */
    final class Function {
        private final String symbol;
        private final String since;
        private final FunctionDescriptor descriptor;
        private final Linker.Option[] options;
        private volatile MethodHandle handle;

        private Function(String symbol, String since, FunctionDescriptor descriptor, Linker.Option[] options) {
            this.symbol = symbol;
            this.since = since;
            this.descriptor = descriptor;
            this.options = options;
        }

        /** The C symbol's name, for error messages. */
        String symbol() {
            return symbol;
        }

        /** Whether the library has this function (calls of one it lacks throw {@link MissingSymbolException}). */
        boolean exists() {
            return handle != null || lookup.find(symbol).isPresent();
        }

        /** Calls the function through {@code call}; the one place that turns invokeExact's Throwable into what it is. */
        int invokeInt(IntCall call) {
            MethodHandle h = handle();
            try {
                return call.on(h);
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) { // downcalls throw nothing checked: a wrong call site
                throw new AssertionError(symbol + ": " + t, t);
            }
        }

        @SuppressWarnings("restricted")
        private MethodHandle handle() {
            MethodHandle h = handle;
            if (h == null) {
                MemorySegment address = lookup.find(symbol)
                        .orElseThrow(() -> new MissingSymbolException(symbol, name, since, remedy));
                h = LINKER.downcallHandle(address, descriptor, options);
                handle = h; // a benign race: two threads may each make an equal handle
            }
            return h;
        }
    }
}
