package dev.cryo.internal.os;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * A native library of this module (libc, libcriu) and the one place in it that loads libraries,
 * looks symbols up and reads C strings: the module's only {@code restricted} calls. Its
 * {@link Function}s make their downcall handle on first use, so that a symbol the library lacks
 * fails only when it is called, with a {@link MissingSymbolException}, and a handle nobody calls
 * costs nothing. (lib-cuda has its own copy: the two binding modules do not depend on each other.)
 */
public final class NativeLibrary {
    private static final Linker LINKER = Linker.nativeLinker();

    private final String name;
    private final String remedy;
    private final SymbolLookup lookup;

    private NativeLibrary(String name, String remedy, SymbolLookup lookup) {
        this.name = name;
        this.remedy = remedy;
        this.lookup = lookup;
    }

    /** The C library (and whatever else the JVM's default lookup sees). */
    public static NativeLibrary libc() {
        return new NativeLibrary("the C library", "Cryo's libc calls are those of glibc on Linux.",
                LINKER.defaultLookup());
    }

    /**
     * Loads the library at {@code path} for the life of the process; {@code remedy} is what to do
     * when one of its functions is missing.
     *
     * @throws IllegalArgumentException when it cannot be loaded
     * @throws IllegalCallerException when native access is not enabled for this module
     */
    @SuppressWarnings("restricted")
    public static NativeLibrary load(Path path, String remedy) {
        return new NativeLibrary(path.toString(), remedy, SymbolLookup.libraryLookup(path, Arena.global()));
    }

    /** Loads the library the dynamic loader finds under {@code soname}; as {@link #load(Path, String)}. */
    @SuppressWarnings("restricted")
    public static NativeLibrary load(String soname, String remedy) {
        return new NativeLibrary(soname, remedy, SymbolLookup.libraryLookup(soname, Arena.global()));
    }

    /**
     * The function {@code symbol}, bound on first use. {@code since} names the library release that
     * has it, for the error when this one does not ("CRIU 4.0").
     */
    public Function function(String symbol, String since, FunctionDescriptor descriptor, Linker.Option... options) {
        return new Function(symbol, since, descriptor, options);
    }

    /** Reads a NUL-terminated string the library owns (static storage or its own allocation). */
    @SuppressWarnings("restricted")
    public static String cString(MemorySegment pointer) {
        return pointer.reinterpret(Long.MAX_VALUE).getString(0);
    }

    /** The {@code bytes} of memory at {@code pointer}, which a C function returned (mmap's, say). */
    @SuppressWarnings("restricted")
    public static MemorySegment sized(MemorySegment pointer, long bytes) {
        return pointer.reinterpret(bytes);
    }

    /** A call of a downcall handle with its exact argument and return types ({@code invokeExact}). */
    @FunctionalInterface
    public interface Call<T> {
        T on(MethodHandle handle) throws Throwable;
    }

    /** {@link Call} for the many C functions that return an int (no boxing). */
    @FunctionalInterface
    public interface IntCall {
        int on(MethodHandle handle) throws Throwable;
    }

    /** One C function of this library, bound on first use. */
    public final class Function {
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
        public String symbol() {
            return symbol;
        }

        /** Whether the library has this function (calls of one it lacks throw {@link MissingSymbolException}). */
        public boolean exists() {
            return handle != null || lookup.find(symbol).isPresent();
        }

        /**
         * Makes the downcall handle now (tens of milliseconds for the first of a shape in a fresh
         * JVM), so that a thread that prepares ahead takes that off the first call's path.
         *
         * @throws MissingSymbolException when the library lacks the function
         */
        public void bind() {
            handle();
        }

        /** Calls the function through {@code call}; the one place that turns invokeExact's Throwable into what it is. */
        public <T> T invoke(Call<T> call) {
            MethodHandle h = handle();
            try {
                return call.on(h);
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) { // downcalls throw nothing checked: a wrong call site
                throw new AssertionError(symbol + ": " + t, t);
            }
        }

        /** As {@link #invoke(Call)}, for a function that returns an int. */
        public int invokeInt(IntCall call) {
            MethodHandle h = handle();
            try {
                return call.on(h);
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
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
