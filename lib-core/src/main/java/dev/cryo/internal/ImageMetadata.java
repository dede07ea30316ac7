package dev.cryo.internal;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;

/**
 * The metadata file of one image ({@value #FILE_NAME}): what was dumped, from what, on what.
 * A plain properties file so that a person can read it; written last, so an image directory
 * without it is never complete.
 */
public final class ImageMetadata {
    public static final String FILE_NAME = "cryo-image.properties";
    public static final int FORMAT = 1;

    private final TreeMap<String, String> values;

    private ImageMetadata(Map<String, String> values) {
        this.values = new TreeMap<>(values);
    }

    public static ImageMetadata of(Map<String, String> values) {
        return new ImageMetadata(values);
    }

    /** Reads an image's metadata; empty when the file is missing or unreadable. */
    public static Optional<ImageMetadata> read(Path imageDir) {
        Path file = imageDir.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException | IllegalArgumentException e) {
            return Optional.empty();
        }
        Map<String, String> m = new TreeMap<>();
        p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k)));
        return Optional.of(new ImageMetadata(m));
    }

    /** Writes the file (0600) through a temporary file and a rename, so it is whole or absent. */
    public void write(Path imageDir) throws IOException {
        Properties p = new Properties();
        values.forEach(p::setProperty);
        Path tmp = imageDir.resolve(FILE_NAME + ".tmp");
        try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            p.store(w, "Cryo image metadata");
        }
        Permissions.ownerOnlyFile(tmp);
        Files.move(tmp, imageDir.resolve(FILE_NAME), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    public String get(String key) {
        return values.get(key);
    }

    public String get(String key, String fallback) {
        return values.getOrDefault(key, fallback);
    }

    public long getLong(String key, long fallback) {
        try {
            return Long.parseLong(values.getOrDefault(key, ""));
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    public boolean getBoolean(String key) {
        return Boolean.parseBoolean(values.get(key));
    }

    /** Keys starting with {@code prefix}, with the prefix removed, in order. */
    public Map<String, String> withPrefix(String prefix) {
        Map<String, String> out = new TreeMap<>();
        values.forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                out.put(k.substring(prefix.length()), v);
            }
        });
        return out;
    }

    public Map<String, String> asMap() {
        return java.util.Collections.unmodifiableMap(values);
    }

    /** Encodes a list (a command line) into one value: NUL-separated, escaped by Properties. */
    public static String encodeList(List<String> items) {
        return String.join("\u0000", items);
    }

    public static List<String> decodeList(String value) {
        return value == null || value.isEmpty() ? List.of() : new ArrayList<>(List.of(value.split("\u0000", -1)));
    }
}
