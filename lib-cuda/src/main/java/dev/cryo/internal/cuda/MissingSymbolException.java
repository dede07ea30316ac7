package dev.cryo.internal.cuda;

import java.util.Locale;

/** The NVIDIA driver here lacks a function Cryo calls: it is older than Cryo needs. */
public final class MissingSymbolException extends CudaUnavailableException {
    private static final long serialVersionUID = 1L;

    private final String symbol;
    private final String library;
    private final String since;

    MissingSymbolException(String symbol, String library, String since, String remedy) {
        super(String.format(Locale.ROOT, "%s needs %s or newer: %s here does not have it. %s", symbol, since, library,
                remedy));
        this.symbol = symbol;
        this.library = library;
        this.since = since;
    }

    /** The C function that is missing. */
    public String symbol() {
        return symbol;
    }

    /** The library it was looked up in. */
    public String library() {
        return library;
    }

    /** The driver release that has it. */
    public String since() {
        return since;
    }
}
