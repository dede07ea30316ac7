package dev.cryo.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The step timings of an image, in files beside it that tools read (no log sentences to parse):
 * {@value #CHECKPOINT_FILE}, one JSON object written with the image, and {@value #RESTORES_FILE},
 * one JSON object per line appended by each restore: one line from the launcher ({@code "by":
 * "launcher"}, its phases) and one from the restored app ({@code "by": "app"}, its restore steps).
 * Each line is one {@code write} to a file opened for appending, so concurrent restores do not
 * interleave; a failure to write is ignored (timings never fail a checkpoint or a restore).
 */
public final class StepTimings {
    public static final String CHECKPOINT_FILE = "timings.json";
    public static final String RESTORES_FILE = "restores.log";

    private StepTimings() {}

    /** Writes {@value #CHECKPOINT_FILE} into {@code imageDir} (a temporary file, then a rename). */
    public static void writeCheckpoint(Path imageDir, String id, ImageMetadata.Timings timings) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("id", id);
        t.put("checkpointMillis", timings.checkpointMillis());
        t.put("dumpMillis", timings.dumpMillis());
        t.put("steps", timings.steps());
        Path tmp = imageDir.resolve(CHECKPOINT_FILE + ".tmp");
        try {
            Files.writeString(tmp, Json.write(t, true) + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, imageDir.resolve(CHECKPOINT_FILE), StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // the metadata holds the same timings
        }
    }

    /** Appends one restore's timings ({@code fields}, with {@code by} and the time first) to {@value #RESTORES_FILE}. */
    public static void appendRestore(Path imageDir, String by, Map<String, ?> fields) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("by", by);
        line.put("at", java.time.Instant.now().toString());
        line.putAll(fields);
        byte[] bytes = (Json.write(line, false) + "\n").getBytes(StandardCharsets.UTF_8);
        // Owner-only, as every file of an image.
        try (var channel = java.nio.channels.FileChannel.open(imageDir.resolve(RESTORES_FILE),
                java.util.Set.of(StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE),
                java.nio.file.attribute.PosixFilePermissions.asFileAttribute(Permissions.FILE))) {
            channel.write(java.nio.ByteBuffer.wrap(bytes));
        } catch (IOException | SecurityException e) {
            // timings are never worth failing a restore for
        }
    }

    /** The lines of {@value #RESTORES_FILE} in {@code imageDir}, oldest first; empty when there is none. */
    public static List<Json.Raw> restores(Path imageDir) {
        List<Json.Raw> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(imageDir.resolve(RESTORES_FILE), StandardCharsets.UTF_8)) {
                if (line.startsWith("{") && line.endsWith("}")) {
                    out.add(new Json.Raw(line));
                }
            }
        } catch (IOException e) {
            // none yet
        }
        return out;
    }
}
