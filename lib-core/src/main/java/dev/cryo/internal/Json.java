package dev.cryo.internal;

import java.util.Collection;
import java.util.Locale;
import java.util.Map;

/**
 * Writes JSON from plain values: maps (objects, in their iteration order), collections (arrays),
 * strings, numbers, booleans, {@link java.util.Optional} and null. Hand-written so that the
 * launcher's {@code --json} output and the timings files need no library.
 */
public final class Json {
    private Json() {}

    /** JSON text already written (such as a line of a JSON-lines file), put in as it is. */
    public record Raw(String json) {}

    /** {@code value} as JSON, indented by two spaces per level when {@code pretty}. */
    public static String write(Object value, boolean pretty) {
        StringBuilder b = new StringBuilder();
        append(b, value, pretty ? 0 : -1);
        return b.toString();
    }

    /** {@code indent}: the level, or -1 for compact output. */
    private static void append(StringBuilder b, Object value, int indent) {
        int inner = indent < 0 ? -1 : indent + 1;
        if (value instanceof java.util.Optional<?> o) {
            value = o.orElse(null);
        }
        switch (value) {
            case null -> b.append("null");
            case String s -> string(b, s);
            case Boolean v -> b.append(v);
            case Raw r -> b.append(r.json());
            case Double d when d.isNaN() || d.isInfinite() -> b.append("null");
            case Float f when f.isNaN() || f.isInfinite() -> b.append("null");
            case Number n -> b.append(n instanceof Double || n instanceof Float
                    ? String.format(Locale.ROOT, "%.3f", n.doubleValue()) : n.toString());
            case Map<?, ?> m -> {
                b.append('{');
                int i = 0;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    b.append(i++ == 0 ? "" : ",");
                    newline(b, inner);
                    string(b, String.valueOf(e.getKey()));
                    b.append(indent >= 0 ? ": " : ":");
                    append(b, e.getValue(), inner);
                }
                if (i > 0) {
                    newline(b, indent);
                }
                b.append('}');
            }
            case Collection<?> c -> {
                b.append('[');
                int i = 0;
                for (Object o : c) {
                    b.append(i++ == 0 ? "" : ",");
                    newline(b, inner);
                    append(b, o, inner);
                }
                if (i > 0) {
                    newline(b, indent);
                }
                b.append(']');
            }
            default -> string(b, value.toString());
        }
    }

    private static void newline(StringBuilder b, int indent) {
        if (indent >= 0) {
            b.append('\n').append("  ".repeat(indent));
        }
    }

    private static void string(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
    }
}
