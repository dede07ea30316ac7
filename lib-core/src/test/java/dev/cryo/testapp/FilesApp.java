package dev.cryo.testapp;

import dev.cryo.CheckpointException;
import dev.cryo.CheckpointOptions;
import dev.cryo.CheckpointOutcome;
import dev.cryo.Checkpointer;
import java.io.FileInputStream;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * Reads the first 4 KiB of a data file it keeps open, checkpoints (exiting after it), then reads
 * the rest: a restored copy reads the rest of the file as it is at restore. {@code --store} keeps
 * the file in the image; {@code --store-dir} asks to keep a directory, which is refused.
 */
public final class FilesApp {
    public static void main(String[] args) throws Exception {
        Path data = Path.of(args[0]).resolve("data.bin"); // a directory argument: not part of the build key
        String mode = args.length > 1 ? args[1] : "";
        try (FileInputStream in = new FileInputStream(data.toFile())) {
            System.out.println("FIRST " + sha(in.readNBytes(4096)));
            CheckpointOptions.Builder options = CheckpointOptions.builder().exitAfterCheckpoint(true);
            if (mode.equals("--store")) {
                options.storeFiles(data);
            } else if (mode.equals("--store-dir")) {
                options.storeFiles(data.getParent());
            }
            try {
                CheckpointOutcome outcome = Checkpointer.checkpointNow(options.build());
                System.out.println("OUTCOME " + outcome.kind());
            } catch (CheckpointException e) {
                System.out.println("CHECKPOINT-EXCEPTION " + e.reason() + " " + e.getMessage());
            }
            System.out.println("REST " + sha(in.readAllBytes()));
        }
    }

    static String sha(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)).substring(0, 16);
    }
}
